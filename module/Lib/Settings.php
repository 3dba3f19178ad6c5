<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * The module's own settings (one row of m_ModuleSdpGuard in the module's db/module.db),
 * with defaults for a fresh install. Nothing here touches MikoPBX's own configuration.
 */
final class Settings
{
    public DaemonAddress $daemon;
    public bool $runDaemonWorker;

    private function __construct(DaemonAddress $daemon, bool $runDaemonWorker)
    {
        $this->daemon = $daemon;
        $this->runDaemonWorker = $runDaemonWorker;
    }

    /**
     * @param array<string, mixed>|null $row the model row as an array, or null when none is saved yet
     */
    public static function fromRow(?array $row): self
    {
        $url = $row['daemon_url'] ?? null;
        return new self(
            DaemonAddress::fromStored(is_string($url) ? $url : null),
            (string) ($row['run_daemon_worker'] ?? '0') === '1'
        );
    }
}
