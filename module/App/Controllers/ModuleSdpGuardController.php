<?php

namespace Modules\ModuleSdpGuard\App\Controllers;

use MikoPBX\AdminCabinet\Controllers\BaseController;
use MikoPBX\Core\System\Processes;
use Modules\ModuleSdpGuard\Lib\DaemonAddress;
use Modules\ModuleSdpGuard\Lib\DaemonClient;
use Modules\ModuleSdpGuard\Lib\DaemonCommand;
use Modules\ModuleSdpGuard\Lib\FindingsPresenter;
use Modules\ModuleSdpGuard\Lib\ModuleTranslator;
use Modules\ModuleSdpGuard\Lib\Settings;
use Modules\ModuleSdpGuard\Lib\WorkerSdpGuardDaemon;
use Modules\ModuleSdpGuard\Models\ModuleSdpGuard;

/**
 * The module page: current findings per provider, when they were checked, each source's state,
 * and the daemon address. Reads the daemon; writes only the module's own settings row.
 */
class ModuleSdpGuardController extends BaseController
{
    private const MODULE_ID = 'ModuleSdpGuard';
    private const INDEX = 'module-sdp-guard/module-sdp-guard/index';

    public function initialize(): void
    {
        $this->view->logoImagePath = $this->url->get() . 'assets/img/cache/' . self::MODULE_ID . '/logo.svg';
        $this->view->submitMode = null;
        parent::initialize();
    }

    public function indexAction(): void
    {
        $record = $this->settingsRecord();
        $settings = Settings::fromRow($record->toArray());
        $t = ModuleTranslator::forLanguage((string) $this->language);

        $result = (new DaemonClient($settings->daemon))->fetch();
        $presenter = new FindingsPresenter($t, new \DateTimeImmutable('now'));

        $workerProblem = '';
        if ($settings->runDaemonWorker) {
            $found = (new DaemonCommand())->locate();
            if ($found['command'] === null) {
                $workerProblem = $t->_('module_sdp_guard_WorkerNotFound', ['reason' => $found['reason']]);
            }
        }

        $this->view->page = $presenter->present($result);
        $this->view->daemonUrl = $settings->daemon->base();
        $this->view->runDaemonWorker = $settings->runDaemonWorker;
        $this->view->workerProblem = $workerProblem;
        $this->view->pick('Modules/' . self::MODULE_ID . '/ModuleSdpGuard/index');
    }

    public function saveAction(): void
    {
        if (!$this->request->isPost()) {
            return;
        }
        $data = $this->request->getPost();
        $t = ModuleTranslator::forLanguage((string) $this->language);
        try {
            $address = DaemonAddress::parse((string) ($data['daemon_url'] ?? ''));
        } catch (\InvalidArgumentException $e) {
            $this->flash->error($t->_('module_sdp_guard_DaemonUrlInvalid', ['reason' => $e->getMessage()]));
            $this->forward(self::INDEX);
            return;
        }
        $record = $this->settingsRecord();
        $wasRunning = (string) $record->run_daemon_worker === '1';
        $record->daemon_url = $address->base();
        $record->run_daemon_worker = in_array($data['run_daemon_worker'] ?? '', ['on', '1'], true) ? '1' : '0';
        if ($this->saveEntity($record, self::INDEX)) {
            $nowRunning = $record->run_daemon_worker === '1';
            if ($nowRunning !== $wasRunning) {
                Processes::processPHPWorker(WorkerSdpGuardDaemon::class, 'start', $nowRunning ? 'restart' : 'stop');
            }
        }
    }

    private function settingsRecord(): ModuleSdpGuard
    {
        $record = ModuleSdpGuard::findFirst();
        if (!$record instanceof ModuleSdpGuard) {
            $record = new ModuleSdpGuard();
            $record->daemon_url = DaemonAddress::DEFAULT;
            $record->run_daemon_worker = '0';
        }
        return $record;
    }
}
