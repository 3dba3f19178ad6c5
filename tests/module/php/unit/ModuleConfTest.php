<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use MikoPBX\Core\Workers\Cron\WorkerSafeScriptsCore;
use MikoPBX\Modules\Config\ConfigClass;
use MikoPBX\Modules\Setup\PbxExtensionSetupBase;
use MikoPBX\PBXCoreREST\Lib\PBXApiResult;
use Modules\ModuleSdpGuard\Lib\DaemonAddress;
use Modules\ModuleSdpGuard\Lib\DaemonClient;
use Modules\ModuleSdpGuard\Lib\HttpGetter;
use Modules\ModuleSdpGuard\Lib\SdpGuardConf;
use Modules\ModuleSdpGuard\Lib\Settings;
use Modules\ModuleSdpGuard\Setup\PbxExtensionSetup;
use PHPUnit\Framework\TestCase;

/** The config class as MikoPBX uses it: discovery, REST callback, workers. */
final class ModuleConfTest extends TestCase
{
    /** @param array<string, mixed>|null $row */
    private static function conf(HttpGetter $http, ?array $row = null): SdpGuardConf
    {
        return new class ($http, $row) extends SdpGuardConf {
            /** @param array<string, mixed>|null $row */
            public function __construct(private HttpGetter $http, private ?array $row)
            {
                parent::__construct();
            }

            protected function settings(): Settings
            {
                return Settings::fromRow($this->row);
            }

            protected function daemonClient(): DaemonClient
            {
                return new DaemonClient($this->settings()->daemon, $this->http);
            }
        };
    }

    public function testMikoPbxFindsTheConfigClassByItsNamingRule(): void
    {
        // src/Common/Providers/PBXConfModulesProvider.php: str_replace('Module', '', uniqid) . 'Conf'
        $module = json_decode((string) file_get_contents(SDP_GUARD_MODULE_DIR . '/module.json'), true);
        $uniqid = $module['moduleUniqueID'];
        $class = 'Modules\\' . $uniqid . '\\Lib\\' . str_replace('Module', '', $uniqid) . 'Conf';
        self::assertSame(SdpGuardConf::class, $class);
        self::assertTrue(class_exists($class));
        $conf = self::conf(Fixture::http());
        self::assertInstanceOf(ConfigClass::class, $conf);
        // PbxExtensionsProcessor routes /pbxcore/api/modules/<name>/... by this id.
        self::assertSame('ModuleSdpGuard', $conf->moduleUniqueId);
    }

    public function testTheInstallerLoadsAndReadsModuleJson(): void
    {
        $setup = new PbxExtensionSetup('ModuleSdpGuard');
        self::assertInstanceOf(PbxExtensionSetupBase::class, $setup);
        $version = (fn () => [$this->version, $this->min_pbx_version, $this->developer, $this->support_email])->call($setup);
        self::assertSame('0.1.0', $version[0]);
        self::assertNotSame('', $version[1]);
        self::assertNotNull($version[2]);
        self::assertNotNull($version[3]);
    }

    public function testFindingsActionReturnsTheDaemonDocument(): void
    {
        $http = Fixture::http(200, Fixture::json());
        $res = self::conf($http, ['daemon_url' => 'http://127.0.0.1:9999'])->moduleRestAPICallback(
            ['action' => 'findings', 'module' => 'ModuleSdpGuard']
        );
        self::assertInstanceOf(PBXApiResult::class, $res);
        self::assertTrue($res->success);
        self::assertSame(Fixture::data(), $res->data);
        self::assertSame(['http://127.0.0.1:9999/findings'], $http->urls);
        $out = $res->getResult();
        self::assertTrue($out['result']);
        self::assertSame('findings', $out['function']);
        self::assertSame([], $out['messages']);
    }

    public function testFindingsActionFailsPlainlyWhenTheDaemonIsDown(): void
    {
        $res = self::conf(Fixture::http(0, '', 'cannot connect to 127.0.0.1:8796 (Connection refused)'))
            ->moduleRestAPICallback(['action' => 'findings']);
        self::assertFalse($res->success);
        self::assertFalse($res->data['daemon_reachable']);
        self::assertStringContainsString('does not answer at http://127.0.0.1:8796/findings', $res->messages['error'][0]);
        self::assertStringContainsString('systemctl start sdp-guard', $res->messages['error'][1]);
    }

    public function testStatusActionSummarises(): void
    {
        $res = self::conf(Fixture::http(200, Fixture::json()))->moduleRestAPICallback(['action' => 'status']);
        self::assertTrue($res->success);
        self::assertSame([
            'status' => 'critical',
            'counts' => ['critical' => 1, 'warning' => 1, 'info' => 1],
            'checked_at' => '2026-11-28T06:30:00Z',
            'daemon_reachable' => true,
            'daemon_state' => 'ok',
            'daemon_url' => 'http://127.0.0.1:8796/findings',
            'error' => null,
        ], $res->data);
    }

    public function testStatusActionStillAnswersWhenTheDaemonIsDown(): void
    {
        $res = self::conf(Fixture::http(0, '', 'no complete answer within 3.0 s'))->moduleRestAPICallback(['action' => 'STATUS']);
        self::assertTrue($res->success);
        self::assertSame('unknown', $res->data['status']);
        self::assertNull($res->data['counts']);
        self::assertFalse($res->data['daemon_reachable']);
        self::assertStringContainsString('no complete answer', $res->data['error']);
    }

    public function testStatusActionOnABrokenDocumentIsReachableButUnknown(): void
    {
        $res = self::conf(Fixture::http(200, '{}'))->moduleRestAPICallback(['action' => 'status']);
        self::assertSame('unknown', $res->data['status']);
        self::assertTrue($res->data['daemon_reachable']);
        self::assertSame('invalid', $res->data['daemon_state']);
    }

    public function testUnknownActionIsAnError(): void
    {
        $res = self::conf(Fixture::http(200, Fixture::json()))->moduleRestAPICallback(['action' => 'sync']);
        self::assertFalse($res->success);
        self::assertStringContainsString("Unknown action 'sync'", $res->messages['error'][0]);
    }

    public function testTheDaemonWorkerRunsOnlyWhenTheOperatorTurnsItOn(): void
    {
        self::assertSame([], self::conf(Fixture::http())->getModuleWorkers());
        self::assertSame([], self::conf(Fixture::http(), ['run_daemon_worker' => '0'])->getModuleWorkers());
        $workers = self::conf(Fixture::http(), ['run_daemon_worker' => '1'])->getModuleWorkers();
        self::assertSame(
            [['type' => WorkerSafeScriptsCore::CHECK_BY_PID_NOT_ALERT, 'worker' => 'Modules\\ModuleSdpGuard\\Lib\\WorkerSdpGuardDaemon']],
            $workers
        );
    }

    public function testStoredSettingsFallBackToDefaults(): void
    {
        $s = Settings::fromRow(null);
        self::assertSame(DaemonAddress::DEFAULT, $s->daemon->base());
        self::assertFalse($s->runDaemonWorker);
        self::assertSame('http://10.0.0.9:8796', Settings::fromRow(['daemon_url' => '10.0.0.9'])->daemon->base());
    }
}
