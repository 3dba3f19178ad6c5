<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\DaemonAddress;
use Modules\ModuleSdpGuard\Lib\DaemonClient;
use Modules\ModuleSdpGuard\Lib\FetchResult;
use Modules\ModuleSdpGuard\Lib\SocketHttpGetter;
use Modules\ModuleSdpGuard\Lib\TransportError;
use PHPUnit\Framework\TestCase;

final class DaemonClientTest extends TestCase
{
    /** @var list<resource> */
    private array $servers = [];

    protected function tearDown(): void
    {
        foreach ($this->servers as $proc) {
            proc_terminate($proc);
            proc_close($proc);
        }
        $this->servers = [];
    }

    public function testAsksTheConfiguredAddressForFindings(): void
    {
        $http = Fixture::http(200, Fixture::json());
        $r = (new DaemonClient(DaemonAddress::parse('10.1.2.3:9000'), $http))->fetch();
        self::assertSame(['http://10.1.2.3:9000/findings'], $http->urls);
        self::assertSame(FetchResult::OK, $r->state);
        self::assertSame('critical', $r->document->status());
    }

    public function testNoAnswerMeansUnreachable(): void
    {
        $r = (new DaemonClient(DaemonAddress::default(), Fixture::http(0, '', 'cannot connect (Connection refused)')))->fetch();
        self::assertSame(FetchResult::UNREACHABLE, $r->state);
        self::assertFalse($r->reachable());
        self::assertStringContainsString('Connection refused', $r->detail);
    }

    public function testAnErrorStatusIsReportedAsSuch(): void
    {
        $r = (new DaemonClient(DaemonAddress::default(), Fixture::http(404, 'not found')))->fetch();
        self::assertSame(FetchResult::HTTP_ERROR, $r->state);
        self::assertSame(404, $r->httpStatus);
        self::assertTrue($r->reachable());
    }

    public function testABodyThatIsNotAFindingsDocumentIsInvalid(): void
    {
        $r = (new DaemonClient(DaemonAddress::default(), Fixture::http(200, '# HELP sdp_guard_findings')))->fetch();
        self::assertSame(FetchResult::INVALID, $r->state);
        self::assertNull($r->document);
        self::assertStringContainsString('not JSON', $r->detail);
    }

    public function testReadsARealHttpServer(): void
    {
        $port = $this->startServer(SDP_GUARD_FIXTURES . '/findings-critical.json');
        $r = (new DaemonClient(DaemonAddress::parse("127.0.0.1:$port")))->fetch();
        self::assertSame(FetchResult::OK, $r->state, $r->detail);
        self::assertSame('SIP-TRUNK-7B3D0E55', $r->document->findings()[1]['provider']);
        self::assertSame('プロバイダ SIP-TRUNK-C81E2D07 に対応する局がありません。', $r->document->findings()[0]['text']['ja']['message']);
    }

    public function testARealServerWithoutADocumentGivesItsStatus(): void
    {
        $port = $this->startServer('');
        $r = (new DaemonClient(DaemonAddress::parse("127.0.0.1:$port")))->fetch();
        self::assertSame(FetchResult::HTTP_ERROR, $r->state);
        self::assertSame(503, $r->httpStatus);
    }

    public function testAClosedPortIsUnreachableAtOnce(): void
    {
        $port = self::freePort();
        $t0 = microtime(true);
        $r = (new DaemonClient(DaemonAddress::parse("127.0.0.1:$port")))->fetch();
        self::assertSame(FetchResult::UNREACHABLE, $r->state);
        self::assertStringContainsString("cannot connect to 127.0.0.1:$port", $r->detail);
        self::assertLessThan(2.0, microtime(true) - $t0);
    }

    public function testADaemonThatAcceptsButNeverAnswersTimesOut(): void
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $errstr);
        self::assertIsResource($server, $errstr);
        $port = (int) substr((string) strrchr(stream_socket_get_name($server, false), ':'), 1);
        $t0 = microtime(true);
        $r = (new DaemonClient(DaemonAddress::parse("127.0.0.1:$port"), null, 0.5))->fetch();
        fclose($server);
        self::assertSame(FetchResult::UNREACHABLE, $r->state);
        self::assertStringContainsString('no complete answer within 0.5 s', $r->detail);
        self::assertLessThan(3.0, microtime(true) - $t0);
    }

    public function testDecodesAChunkedAnswer(): void
    {
        $raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";
        self::assertSame(['status' => 200, 'body' => '{"a":1}'], SocketHttpGetter::parseResponse($raw));
    }

    public function testSomethingThatIsNotHttpIsATransportError(): void
    {
        $this->expectException(TransportError::class);
        $this->expectExceptionMessage('not HTTP');
        SocketHttpGetter::parseResponse("SSH-2.0-OpenSSH_9.2\r\n\r\n");
    }

    private static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($s, false);
        fclose($s);
        return (int) substr((string) strrchr($name, ':'), 1);
    }

    private function startServer(string $serveFile): int
    {
        $port = self::freePort();
        $env = ['SDP_GUARD_SERVE' => $serveFile, 'PATH' => (string) getenv('PATH')];
        $null = ['file', '/dev/null', 'w'];
        $proc = proc_open(
            [PHP_BINARY, '-S', "127.0.0.1:$port", __DIR__ . '/../server/router.php'],
            [0 => ['file', '/dev/null', 'r'], 1 => $null, 2 => $null],
            $pipes,
            null,
            $env
        );
        self::assertIsResource($proc);
        $this->servers[] = $proc;
        for ($i = 0; $i < 100; $i++) {
            $c = @stream_socket_client("tcp://127.0.0.1:$port", $e, $es, 0.1);
            if ($c !== false) {
                fclose($c);
                return $port;
            }
            usleep(50000);
        }
        self::fail("php -S did not start on port $port");
    }
}
