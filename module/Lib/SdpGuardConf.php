<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

use MikoPBX\Core\Workers\Cron\WorkerSafeScriptsCore;
use MikoPBX\Modules\Config\ConfigClass;
use MikoPBX\PBXCoreREST\Lib\PBXApiResult;
use Modules\ModuleSdpGuard\Models\ModuleSdpGuard;

/**
 * The module's config class. MikoPBX finds it by name: for the module `ModuleSdpGuard` it loads
 * `Modules\ModuleSdpGuard\Lib\SdpGuardConf` (PBXConfModulesProvider strips "Module" and appends
 * "Conf") and keeps it when it extends ConfigClass.
 *
 * Read-only towards MikoPBX: no hook here generates or changes Asterisk or MikoPBX configuration.
 * Changes to providers go through `sdp-guard sync` and MikoPBX's own REST API.
 */
class SdpGuardConf extends ConfigClass
{
    /**
     * GET /pbxcore/api/modules/ModuleSdpGuard/findings and .../status.
     *
     * @param array $request MikoPBX passes `action` (the last path segment) and `module`
     */
    public function moduleRestAPICallback(array $request): PBXApiResult
    {
        $res = new PBXApiResult();
        $res->processor = __METHOD__;
        $res->function = (string) ($request['action'] ?? '');
        $out = (new RestApi($this->daemonClient()))->handle($res->function);
        $res->success = $out['success'];
        $res->data = $out['data'];
        if ($out['errors'] !== []) {
            $res->messages['error'] = $out['errors'];
        }
        return $res;
    }

    /**
     * The optional worker that runs `sdp-guard daemon` on the PBX itself; only when the operator
     * turned it on (the daemon usually runs on the Docker host).
     */
    public function getModuleWorkers(): array
    {
        if (!$this->settings()->runDaemonWorker) {
            return [];
        }
        return [
            [
                'type' => WorkerSafeScriptsCore::CHECK_BY_PID_NOT_ALERT,
                'worker' => WorkerSdpGuardDaemon::class,
            ],
        ];
    }

    protected function settings(): Settings
    {
        $row = ModuleSdpGuard::findFirst();
        return Settings::fromRow($row === null || $row === false ? null : $row->toArray());
    }

    protected function daemonClient(): DaemonClient
    {
        return new DaemonClient($this->settings()->daemon);
    }
}
