<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\DaemonCommand;
use PHPUnit\Framework\TestCase;

final class DaemonCommandTest extends TestCase
{
    /**
     * @param list<string> $executables
     * @param list<string> $working commands (joined by spaces) that exit 0
     */
    private static function locate(array $executables, array $working): array
    {
        return (new DaemonCommand(
            static fn (string $p): bool => in_array($p, $executables, true),
            static fn (array $argv): bool => in_array(implode(' ', $argv), $working, true),
            ['/usr/local/bin', '/usr/bin']
        ))->locate();
    }

    public function testPrefersAnInstalledSdpGuardThatRuns(): void
    {
        $r = self::locate(['/usr/bin/sdp-guard', '/usr/bin/python3'], ['/usr/bin/sdp-guard --version', '/usr/bin/python3 -c import sdp_guard.cli']);
        self::assertSame(['/usr/bin/sdp-guard', 'daemon'], $r['command']);
    }

    public function testFallsBackToPythonWhenThePackageImports(): void
    {
        $r = self::locate(['/usr/bin/sdp-guard', '/usr/bin/python3'], ['/usr/bin/python3 -c import sdp_guard.cli']);
        self::assertSame(['/usr/bin/python3', '-m', 'sdp_guard', 'daemon'], $r['command']);
    }

    public function testTheFirmwarePythonWithoutThePackageIsExplained(): void
    {
        $r = self::locate(['/usr/bin/python3'], []);
        self::assertNull($r['command']);
        self::assertStringContainsString('/usr/bin/python3 cannot import the sdp_guard package', $r['reason']);
    }

    public function testNothingInstalledIsExplained(): void
    {
        $r = self::locate([], []);
        self::assertNull($r['command']);
        self::assertStringContainsString('neither sdp-guard nor python3 was found in /usr/local/bin, /usr/bin', $r['reason']);
    }

    public function testTheRealProbeRunsCommands(): void
    {
        self::assertTrue(DaemonCommand::exitsZero([PHP_BINARY, '-r', 'exit(0);']));
        self::assertFalse(DaemonCommand::exitsZero([PHP_BINARY, '-r', 'exit(3);']));
        self::assertFalse(DaemonCommand::exitsZero(['/nonexistent/sdp-guard', '--version']));
    }
}
