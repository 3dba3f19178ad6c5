<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

require_once 'Globals.php';

use MikoPBX\Core\System\SystemMessages;
use MikoPBX\Core\Workers\WorkerBase;

/**
 * Optional module worker: runs `sdp-guard daemon` on the PBX and lives as long as it does.
 * WorkerSafeScriptsCore (CHECK_BY_PID_NOT_ALERT) starts it again when it is gone.
 *
 * When sdp-guard cannot run here, the worker stays up idle and looks again every
 * RETRY_SECONDS instead of exiting, so MikoPBX does not count a crash loop.
 * UNVERIFIED on a live box: the firmware's python3 lacks sdp-guard's dependencies.
 */
class WorkerSdpGuardDaemon extends WorkerBase
{
    public const RETRY_SECONDS = 300;
    public const LOG_FILE = '/var/log/sdp-guard-daemon.log';

    /** @var resource|null */
    private $proc = null;

    public function start(array $argv): void
    {
        $locator = new DaemonCommand();
        while (true) {
            $found = $locator->locate();
            if ($found['command'] !== null) {
                break;
            }
            SystemMessages::sysLogMsg(__CLASS__, 'sdp-guard daemon not started: ' . $found['reason'], LOG_WARNING);
            sleep(self::RETRY_SECONDS);
        }

        $log = ['file', self::LOG_FILE, 'a'];
        $this->proc = proc_open($found['command'], [0 => ['file', '/dev/null', 'r'], 1 => $log, 2 => $log], $pipes);
        if (!is_resource($this->proc)) {
            SystemMessages::sysLogMsg(__CLASS__, 'cannot start ' . implode(' ', $found['command']), LOG_ERR);
            sleep(self::RETRY_SECONDS);
            return;
        }
        register_shutdown_function([$this, 'stopDaemon']);
        while (proc_get_status($this->proc)['running']) {
            sleep(2);
        }
        $this->proc = null;
        SystemMessages::sysLogMsg(__CLASS__, 'sdp-guard daemon exited; the worker will be restarted', LOG_NOTICE);
    }

    /** Stops the daemon when the worker itself is stopped (module disabled, worker restarted). */
    public function stopDaemon(): void
    {
        if (is_resource($this->proc)) {
            proc_terminate($this->proc, SIGTERM);
            $this->proc = null;
        }
    }
}

// Start the worker process (MikoPBX runs: php -f WorkerSdpGuardDaemon.php start)
WorkerSdpGuardDaemon::startWorker($argv ?? []);
