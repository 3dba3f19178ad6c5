<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\DaemonAddress;
use PHPUnit\Framework\TestCase;

final class DaemonAddressTest extends TestCase
{
    /** @return array<string, array{string, string}> */
    public static function accepted(): array
    {
        return [
            'bare host:port' => ['127.0.0.1:8796', 'http://127.0.0.1:8796'],
            'url' => ['http://127.0.0.1:8796', 'http://127.0.0.1:8796'],
            'trailing slash and spaces' => ['  http://127.0.0.1:8796/ ', 'http://127.0.0.1:8796'],
            'pasted findings url' => ['http://172.17.0.1:9000/findings', 'http://172.17.0.1:9000'],
            'default port' => ['localhost', 'http://localhost:8796'],
            'ipv6' => ['http://[::1]:8796', 'http://[::1]:8796'],
            'upper-case host' => ['HTTP://PBX-Host.lan:8796', 'http://pbx-host.lan:8796'],
        ];
    }

    /** @dataProvider accepted */
    public function testNormalisesWhatTheOperatorTypes(string $typed, string $stored): void
    {
        $a = DaemonAddress::parse($typed);
        self::assertSame($stored, $a->base());
        self::assertSame("$stored/findings", $a->findingsUrl());
    }

    /** @return array<string, array{string, string}> */
    public static function rejected(): array
    {
        return [
            'empty' => ['   ', 'empty'],
            'https' => ['https://127.0.0.1:8796', 'only http://'],
            'port too big' => ['127.0.0.1:70000', 'HOST:PORT'],
            'port zero' => ['http://127.0.0.1:0', 'port'],
            'other path' => ['http://127.0.0.1:8796/metrics', '/findings'],
            'query' => ['http://127.0.0.1:8796/?x=1', 'queries'],
            'credentials' => ['http://u:p@127.0.0.1:8796', 'user names'],
            'bad ipv4' => ['http://300.1.1.1:8796', 'IPv4'],
            'spaces in host' => ['http://my host:8796', 'not a host name'],
        ];
    }

    /** @dataProvider rejected */
    public function testRejectsAddressesItCannotUseAndSaysWhy(string $typed, string $why): void
    {
        $this->expectException(\InvalidArgumentException::class);
        $this->expectExceptionMessage($why);
        DaemonAddress::parse($typed);
    }

    public function testAFreshInstallOrABrokenStoredValueUsesTheDaemonDefault(): void
    {
        self::assertSame('http://127.0.0.1:8796/findings', DaemonAddress::fromStored(null)->findingsUrl());
        self::assertSame('http://127.0.0.1:8796', DaemonAddress::fromStored('')->base());
        self::assertSame('http://127.0.0.1:8796', DaemonAddress::fromStored('ftp://x')->base());
        self::assertSame('http://10.0.0.5:8796', DaemonAddress::fromStored('10.0.0.5:8796')->base());
    }
}
