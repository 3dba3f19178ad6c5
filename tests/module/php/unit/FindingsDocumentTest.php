<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\FindingsDocument;
use Modules\ModuleSdpGuard\Lib\InvalidFindingsDocument;
use PHPUnit\Framework\TestCase;

final class FindingsDocumentTest extends TestCase
{
    public function testReadsTheDaemonDocument(): void
    {
        $doc = FindingsDocument::fromJson(Fixture::json());
        self::assertSame('critical', $doc->status());
        self::assertSame('2026-11-28T06:30:00Z', $doc->checkedAt());
        self::assertSame(['critical' => 1, 'warning' => 1, 'info' => 1], $doc->counts());
        self::assertCount(3, $doc->findings());
        self::assertFalse($doc->sources()['tailscale']['up']);
        self::assertSame(91, $doc->daemon()['evaluations']);
    }

    public function testKeepsKeysItDoesNotKnowSoTheRestApiPassesThemOn(): void
    {
        $doc = FindingsDocument::fromJson(Fixture::json());
        self::assertSame('kept as is', $doc->toArray()['findings'][1]['future_key']);
        self::assertSame('Running', $doc->toArray()['tailnet']['backend_state']);
    }

    public function testAcceptsAHealthyDocumentWithoutFindingsOrProviders(): void
    {
        $doc = FindingsDocument::fromArray([
            'schema_version' => 1,
            'checked_at' => '2026-11-28T06:30:00Z',
            'status' => 'ok',
            'summary' => ['critical' => 0, 'warning' => 0, 'info' => 0],
            'sources' => [],
            'findings' => [],
        ]);
        self::assertSame([], $doc->findings());
        self::assertSame([], $doc->providers());
    }

    /** @return array<string, array{0: callable(array<string, mixed>): array<string, mixed>, 1: string}> */
    public static function brokenDocuments(): array
    {
        return [
            'no schema_version' => [static function (array $d) { unset($d['schema_version']); return $d; }, 'schema_version'],
            'newer schema' => [static function (array $d) { $d['schema_version'] = 2; return $d; }, 'update the module'],
            'schema as string' => [static function (array $d) { $d['schema_version'] = '1'; return $d; }, 'schema_version'],
            'no checked_at' => [static function (array $d) { unset($d['checked_at']); return $d; }, 'checked_at'],
            'bad status' => [static function (array $d) { $d['status'] = 'fine'; return $d; }, 'status'],
            'negative count' => [static function (array $d) { $d['summary']['warning'] = -1; return $d; }, 'summary.warning'],
            'sources as list' => [static function (array $d) { $d['sources'] = [['up' => true]]; return $d; }, 'sources'],
            'source up as string' => [static function (array $d) { $d['sources']['mikopbx']['up'] = 'yes'; return $d; }, 'sources.mikopbx.up'],
            'findings as object' => [static function (array $d) { $d['findings'] = ['a' => 1]; return $d; }, 'findings'],
            'bad severity' => [static function (array $d) { $d['findings'][0]['severity'] = 'fatal'; return $d; }, 'findings[0].severity'],
            'no remedy' => [static function (array $d) { unset($d['findings'][2]['remedy']); return $d; }, 'findings[2].remedy'],
            'address as number' => [static function (array $d) { $d['findings'][1]['observed'] = 100; return $d; }, 'findings[1].observed'],
            'text without remedy' => [static function (array $d) { unset($d['findings'][1]['text']['ja']['remedy']); return $d; }, 'findings[1].text.ja'],
            'provider without id' => [static function (array $d) { unset($d['providers'][0]['id']); return $d; }, 'providers[0].id'],
            'probes as object' => [static function (array $d) { $d['probes'] = ['a' => 1]; return $d; }, 'probes'],
            'probe verdict unknown' => [static function (array $d) { $d['probes'] = [FindingsPresenterTest::probe('SIP-TRUNK-1', 'silence')]; return $d; }, 'probes[0].verdict'],
            'probe sent as string' => [static function (array $d) { $p = FindingsPresenterTest::probe('SIP-TRUNK-1', 'one-way'); $p['sent'] = '250'; $d['probes'] = [$p]; return $d; }, 'probes[0].sent'],
        ];
    }

    /**
     * @dataProvider brokenDocuments
     * @param callable(array<string, mixed>): array<string, mixed> $break
     */
    public function testRejectsABrokenDocumentAndSaysWhere(callable $break, string $where): void
    {
        $this->expectException(InvalidFindingsDocument::class);
        $this->expectExceptionMessage($where);
        FindingsDocument::fromJson(Fixture::encode($break(Fixture::data())));
    }

    public function testRejectsTextThatIsNotAJsonObject(): void
    {
        foreach (['<html>Bad gateway</html>' => 'not JSON', '[1, 2]' => 'not a JSON object', '"ok"' => 'not a JSON object'] as $body => $why) {
            try {
                FindingsDocument::fromJson($body);
                self::fail("accepted $body");
            } catch (InvalidFindingsDocument $e) {
                self::assertStringContainsString($why, $e->getMessage());
            }
        }
    }

    public function testRefusesAnOversizedBody(): void
    {
        $this->expectExceptionMessage('larger than');
        FindingsDocument::fromJson(str_repeat(' ', FindingsDocument::MAX_BYTES + 1));
    }
}
