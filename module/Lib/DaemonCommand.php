<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * Finds how to run `sdp-guard daemon` on the PBX itself, for the optional module worker.
 *
 * The official firmware ships a trimmed python3 without pip (design note mikopbx.md §5), and
 * sdp-guard needs PyYAML, pyroute2 and prometheus-client, so on most boxes this finds nothing
 * and the daemon runs on the Docker host instead. The probes are injectable for the tests.
 */
final class DaemonCommand
{
    public const SEARCH_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/opt/sdp-guard/bin'];

    /** @var callable(string): bool */
    private $isExecutable;
    /** @var callable(list<string>): bool */
    private $runsOk;
    /** @var list<string> */
    private array $dirs;

    /**
     * @param callable(string): bool|null $isExecutable
     * @param callable(list<string>): bool|null $runsOk true when the command exits 0
     * @param list<string> $dirs
     */
    public function __construct(?callable $isExecutable = null, ?callable $runsOk = null, array $dirs = self::SEARCH_DIRS)
    {
        $this->isExecutable = $isExecutable ?? static fn (string $p): bool => is_file($p) && is_executable($p);
        $this->runsOk = $runsOk ?? [self::class, 'exitsZero'];
        $this->dirs = $dirs;
    }

    /**
     * @return array{command: list<string>|null, reason: string}
     *   command: argv that starts the daemon, or null with an English reason
     */
    public function locate(): array
    {
        foreach ($this->dirs as $dir) {
            $exe = "$dir/sdp-guard";
            if (($this->isExecutable)($exe) && ($this->runsOk)([$exe, '--version'])) {
                return ['command' => [$exe, 'daemon'], 'reason' => ''];
            }
        }
        foreach ($this->dirs as $dir) {
            $py = "$dir/python3";
            if (!($this->isExecutable)($py)) {
                continue;
            }
            if (($this->runsOk)([$py, '-c', 'import sdp_guard.cli'])) {
                return ['command' => [$py, '-m', 'sdp_guard', 'daemon'], 'reason' => ''];
            }
            return [
                'command' => null,
                'reason' => "$py cannot import the sdp_guard package (or one of its dependencies: "
                    . 'PyYAML, pyroute2, prometheus-client)',
            ];
        }
        return [
            'command' => null,
            'reason' => 'neither sdp-guard nor python3 was found in ' . implode(', ', $this->dirs),
        ];
    }

    /** @param list<string> $argv */
    public static function exitsZero(array $argv): bool
    {
        $null = ['file', '/dev/null', 'w'];
        $proc = @proc_open($argv, [0 => ['file', '/dev/null', 'r'], 1 => $null, 2 => $null], $pipes);
        if (!is_resource($proc)) {
            return false;
        }
        return proc_close($proc) === 0;
    }
}
