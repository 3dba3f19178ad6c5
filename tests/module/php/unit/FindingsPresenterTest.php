<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\FetchResult;
use Modules\ModuleSdpGuard\Lib\FindingsDocument;
use Modules\ModuleSdpGuard\Lib\FindingsPresenter;
use Modules\ModuleSdpGuard\Lib\ModuleTranslator;
use PHPUnit\Framework\TestCase;

final class FindingsPresenterTest extends TestCase
{
    private const URL = 'http://127.0.0.1:8796/findings';

    private static function presenter(string $lang, string $now = '2026-11-28T06:32:00Z'): FindingsPresenter
    {
        return new FindingsPresenter(
            ModuleTranslator::forLanguage($lang),
            new \DateTimeImmutable($now),
            new \DateTimeZone('Asia/Tokyo')
        );
    }

    /** @return array<string, mixed> */
    private static function page(string $lang, string $now = '2026-11-28T06:32:00Z'): array
    {
        $doc = FindingsDocument::fromJson(Fixture::json());
        return self::presenter($lang, $now)->present(FetchResult::ok(self::URL, $doc));
    }

    /** @return array<string, mixed> one entry of the daemon's `probes` list */
    public static function probe(string $provider, string $verdict, int $received = 0): array
    {
        return [
            'station' => 'shibuya', 'provider' => $provider, 'verdict' => $verdict,
            'received_ratio' => $received / 250, 'sent' => 250, 'received' => $received,
            'sip_status' => 200, 'sdp_address' => '100.101.1.1', 'probed_at' => '2026-11-28T06:30:00Z',
        ];
    }

    public function testTheLastProbeCallShowsOnItsProvider(): void
    {
        $data = Fixture::data();
        $data['probes'] = [self::probe('SIP-TRUNK-7B3D0E55', 'one-way'), self::probe('SIP-TRUNK-4F2A9C1E', 'two-way', 248)];
        $doc = FindingsDocument::fromJson(Fixture::encode($data));
        $groups = [];
        foreach (self::presenter('en')->present(FetchResult::ok(self::URL, $doc))['groups'] as $g) {
            $groups[$g['provider']] = $g;
        }
        self::assertSame('one-way', $groups['SIP-TRUNK-7B3D0E55']['probe']['verdict']);
        self::assertSame('one-way audio', $groups['SIP-TRUNK-7B3D0E55']['probe']['label']);
        self::assertSame(
            'Last probe call to the echo test: 0 of 250 RTP packets came back (2026-11-28 15:30:00 JST).',
            $groups['SIP-TRUNK-7B3D0E55']['probe']['text']
        );
        self::assertSame('two-way audio', $groups['SIP-TRUNK-4F2A9C1E']['probe']['label']);
        self::assertNull($groups['SIP-TRUNK-C81E2D07']['probe']);
        $ja = self::presenter('ja')->present(FetchResult::ok(self::URL, $doc))['groups'][0]['probe'];
        self::assertSame('片方向通話', $ja['label']);
        self::assertStringContainsString('送信 250 パケット中 0 パケット', $ja['text']);
    }

    public function testProvidersAreListedWorstFirstAndEveryProviderAppears(): void
    {
        $page = self::page('en');
        $order = array_map(static fn (array $g): string => $g['provider'], $page['groups']);
        // critical Shibuya, then the warning tied to no provider, then Ueno (info), then Kanda (no findings)
        self::assertSame(['SIP-TRUNK-7B3D0E55', '', 'SIP-TRUNK-C81E2D07', 'SIP-TRUNK-4F2A9C1E'], $order);
        self::assertSame('Shibuya exchange (SIP-TRUNK-7B3D0E55)', $page['groups'][0]['title']);
        self::assertSame('Not tied to one provider', $page['groups'][1]['title']);
        self::assertSame([], $page['groups'][3]['findings']);
        self::assertSame('No findings for this provider.', $page['groups'][3]['okText']);
        self::assertSame('OK', $page['groups'][3]['worstLabel']);
    }

    public function testAFindingShowsSeverityStationAddressesAndRemedy(): void
    {
        $f = self::page('en')['groups'][0]['findings'][0];
        self::assertSame('Critical', $f['severityLabel']);
        self::assertSame('host-differs-from-advertised', $f['code']);
        self::assertSame('shibuya', $f['stationText']);
        self::assertSame(
            [
                ['label' => 'configured', 'value' => '100.88.7.19'],
                ['label' => 'advertised', 'value' => '100.88.201.5'],
                ['label' => 'observed', 'value' => '100.88.201.5'],
                ['label' => 'Tailscale node', 'value' => 'shibuya-pbx'],
            ],
            $f['addresses']
        );
        self::assertSame('Run: sdp-guard sync --provider SIP-TRUNK-7B3D0E55', $f['remedy']);
        $unmatched = self::page('en')['groups'][2]['findings'][0];
        self::assertSame('no station matched', $unmatched['stationText']);
    }

    public function testFindingTextFollowsTheUiLanguageWithEnglishFallback(): void
    {
        $ja = self::page('ja')['groups'][0]['findings'][0];
        self::assertStringContainsString('渋谷局', $ja['message']);
        self::assertSame('重大', $ja['severityLabel']);
        // The daemon writes en and ja only: a Russian or Brazilian UI gets the English text,
        // with the module's own labels in Russian.
        $ru = self::page('ru')['groups'][0]['findings'][0];
        self::assertStringStartsWith('Provider host 100.88.7.19', $ru['message']);
        self::assertSame('Критично', $ru['severityLabel']);
        $pt = self::page('pt_BR')['groups'][0]['findings'][0];
        self::assertStringStartsWith('Provider host', $pt['message']);
        self::assertSame('Critical', $pt['severityLabel']);
    }

    public function testWithoutTextTheDocumentsOwnMessageIsUsed(): void
    {
        $data = Fixture::data();
        unset($data['findings'][1]['text']);
        $data['findings'][1]['message'] = 'only in the document language';
        $page = self::presenter('ja')->present(FetchResult::ok(self::URL, FindingsDocument::fromArray($data)));
        self::assertSame('only in the document language', $page['groups'][0]['findings'][0]['message']);
    }

    public function testCheckedAtIsLocalTimeWithAge(): void
    {
        $page = self::page('en');
        self::assertSame('2026-11-28 15:30:00 JST', $page['checkedAt']);
        self::assertSame('2 min ago', $page['checkedAgo']);
        self::assertFalse($page['stale']);
        self::assertSame('Critical', $page['statusLabel']);
        self::assertSame('1 critical, 1 warnings, 1 notes', $page['countsText']);
        self::assertSame('Daemon running since 2026-11-28 14:00:00 JST, 91 evaluations.', $page['daemonText']);
    }

    public function testOldFindingsAreFlaggedAsStale(): void
    {
        $page = self::page('ru', '2026-11-28T09:30:00Z');
        self::assertTrue($page['stale']);
        self::assertSame('3 ч назад', $page['checkedAgo']);
        self::assertStringContainsString('10 мин', $page['staleText']);
    }

    public function testEachSourceSaysWhetherItIsAvailable(): void
    {
        $sources = self::page('en')['sources'];
        self::assertSame(['mikopbx', 'registry', 'tailscale'], array_column($sources, 'name'));
        self::assertSame('available', $sources[0]['stateText']);
        self::assertSame('/cf/conf/mikopbx.db', $sources[0]['detail']);
        self::assertFalse($sources[2]['up']);
        self::assertStringStartsWith('unavailable since 2026-11-28 15:20:00 JST', $sources[2]['stateText']);
    }

    public function testUnreachableDaemonSaysSoAndHowToStartIt(): void
    {
        foreach (['en' => 'does not answer', 'ja' => '応答しません', 'ru' => 'не отвечает'] as $lang => $phrase) {
            $page = self::presenter($lang)->present(
                FetchResult::failed(FetchResult::UNREACHABLE, self::URL, 'cannot connect to 127.0.0.1:8796 (Connection refused)')
            );
            self::assertSame('unreachable', $page['state']);
            self::assertStringContainsString($phrase, $page['error']);
            self::assertStringContainsString(self::URL, $page['error']);
            self::assertStringContainsString('Connection refused', $page['error']);
            self::assertCount(2, $page['howToStart']);
            self::assertStringContainsString('systemctl start sdp-guard', $page['howToStart'][0]);
            self::assertArrayNotHasKey('groups', $page);
        }
    }

    public function testAWrongAddressIsNotReportedAsAStoppedDaemon(): void
    {
        $page = self::presenter('en')->present(FetchResult::failed(FetchResult::HTTP_ERROR, self::URL, 'HTTP 404', 404));
        self::assertStringContainsString('HTTP 404', $page['error']);
        self::assertSame([], $page['howToStart']);
        $page = self::presenter('en')->present(FetchResult::failed(FetchResult::INVALID, self::URL, 'status: expected one of ok', 200));
        self::assertStringContainsString('cannot read: status: expected one of ok', $page['error']);
    }

    public function testAHealthyPbxShowsNoProblems(): void
    {
        $data = Fixture::data();
        $data['findings'] = [];
        $data['status'] = 'ok';
        $page = self::presenter('en')->present(FetchResult::ok(self::URL, FindingsDocument::fromArray($data)));
        self::assertFalse($page['hasFindings']);
        self::assertSame(['ok', 'ok', 'ok'], array_column($page['groups'], 'worst'));
        self::assertSame('OK', $page['statusLabel']);
    }

    public function testAgeTextRounds(): void
    {
        $p = self::presenter('en');
        self::assertSame('0 s ago', $p->ageText(-5));
        self::assertSame('2 min ago', $p->ageText(100));
        self::assertSame('2 h ago', $p->ageText(2 * 3600 + 100));
        self::assertSame('3 days ago', $p->ageText(3 * 86400));
    }
}
