<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * Turns a fetch result into what the admin page shows: everything already translated and
 * grouped, so the Volt view only prints (escaped) strings.
 */
final class FindingsPresenter
{
    /** Older than this (the daemon re-checks every 60 s by default) and the page warns. */
    public const STALE_AFTER_SECONDS = 600;

    private const SEVERITY_RANK = ['critical' => 0, 'warning' => 1, 'info' => 2];
    private const GENERAL = '';

    private ModuleTranslator $t;
    private \DateTimeImmutable $now;
    private \DateTimeZone $tz;

    public function __construct(ModuleTranslator $t, \DateTimeImmutable $now, ?\DateTimeZone $tz = null)
    {
        $this->t = $t;
        $this->now = $now;
        $this->tz = $tz ?? new \DateTimeZone(date_default_timezone_get());
    }

    /**
     * @return array<string, mixed>
     */
    public function present(FetchResult $result): array
    {
        $view = [
            'state' => $result->state,
            'daemonUrl' => $result->url,
            'error' => '',
            'howToStart' => [],
        ];
        $doc = $result->document;
        if ($doc === null) {
            $view['error'] = $this->errorText($result);
            if ($result->state === FetchResult::UNREACHABLE) {
                $view['howToStart'] = [
                    $this->t->_('module_sdp_guard_HowToStartDocker'),
                    $this->t->_('module_sdp_guard_HowToStartWorker'),
                ];
            }
            return $view;
        }

        $counts = $doc->counts();
        $view['status'] = $doc->status();
        $view['statusLabel'] = $this->t->_('module_sdp_guard_Status_' . $doc->status());
        $view['counts'] = $counts;
        $view['countsText'] = $this->t->_('module_sdp_guard_Counts', $counts);
        [$view['checkedAt'], $view['checkedAgo'], $view['stale']] = $this->checkedAt($doc->checkedAt());
        $view['staleText'] = $view['stale']
            ? $this->t->_('module_sdp_guard_Stale', ['minutes' => intdiv(self::STALE_AFTER_SECONDS, 60)])
            : '';
        $view['daemonText'] = $this->daemonText($doc->daemon());
        $view['sources'] = $this->sources($doc->sources());
        $view['groups'] = $this->groups($doc);
        $view['hasFindings'] = $doc->findings() !== [];
        return $view;
    }

    public function errorText(FetchResult $result): string
    {
        switch ($result->state) {
            case FetchResult::UNREACHABLE:
                return $this->t->_(
                    'module_sdp_guard_DaemonUnreachable',
                    ['url' => $result->url, 'reason' => $result->detail]
                );
            case FetchResult::HTTP_ERROR:
                return $this->t->_(
                    'module_sdp_guard_DaemonHttpError',
                    ['url' => $result->url, 'code' => $result->httpStatus]
                );
            case FetchResult::INVALID:
                return $this->t->_('module_sdp_guard_DaemonInvalid', ['url' => $result->url, 'reason' => $result->detail]);
            default:
                return '';
        }
    }

    /**
     * The finding's message and remedy in the UI language: `text[<lang>]`, then `text[en]`, then the
     * document's own `message`/`remedy`.
     *
     * @param array<string, mixed> $finding
     * @return array{message: string, remedy: string}
     */
    public function textFor(array $finding): array
    {
        $text = is_array($finding['text'] ?? null) ? $finding['text'] : [];
        foreach (ModuleTranslator::candidates($this->t->language()) as $lang) {
            if (isset($text[$lang]['message'], $text[$lang]['remedy'])) {
                return ['message' => $text[$lang]['message'], 'remedy' => $text[$lang]['remedy']];
            }
        }
        return ['message' => $finding['message'], 'remedy' => $finding['remedy']];
    }

    /**
     * Findings grouped per provider: every provider of the document (those without findings say so),
     * providers known only from a finding, and one group for findings tied to no provider.
     * Worst groups first, then by provider id; within a group by severity, then by check.
     *
     * @return list<array<string, mixed>>
     */
    public function groups(FindingsDocument $doc): array
    {
        $groups = [];
        foreach ($doc->providers() as $p) {
            $groups[$p['id']] = $this->newGroup($p['id'], $p);
        }
        $probes = [];
        foreach ($doc->probes() as $probe) {
            $probes[$probe['provider']] = $probe;
        }
        foreach ($doc->findings() as $f) {
            $key = $f['provider'] ?? self::GENERAL;
            if (!isset($groups[$key])) {
                $groups[$key] = $this->newGroup($key, null);
            }
            $groups[$key]['findings'][] = $this->finding($f);
            if ($groups[$key]['station'] === '' && ($f['station'] ?? null) !== null && $key !== self::GENERAL) {
                $groups[$key]['station'] = $f['station'];
            }
        }
        foreach ($groups as &$g) {
            usort($g['findings'], static function (array $a, array $b): int {
                return [self::SEVERITY_RANK[$a['severity']], $a['code'], $a['station']]
                    <=> [self::SEVERITY_RANK[$b['severity']], $b['code'], $b['station']];
            });
            $g['worst'] = $g['findings'] === [] ? 'ok' : $g['findings'][0]['severity'];
            $g['worstLabel'] = $g['findings'] === []
                ? $this->t->_('module_sdp_guard_Status_ok')
                : $this->t->_('module_sdp_guard_Severity_' . $g['worst']);
            $g['okText'] = $g['findings'] === [] ? $this->t->_('module_sdp_guard_ProviderOk') : '';
            $g['probe'] = isset($probes[$g['provider']]) ? $this->probe($probes[$g['provider']]) : null;
        }
        unset($g);
        $rank = static function (array $g): int {
            return $g['worst'] === 'ok' ? 3 : self::SEVERITY_RANK[$g['worst']];
        };
        $list = array_values($groups);
        usort($list, static function (array $a, array $b) use ($rank): int {
            // The general group goes after the providers of the same rank.
            return [$rank($a), $a['provider'] === self::GENERAL ? 1 : 0, $a['provider']]
                <=> [$rank($b), $b['provider'] === self::GENERAL ? 1 : 0, $b['provider']];
        });
        return $list;
    }

    /**
     * @param array<string, mixed>|null $provider
     * @return array<string, mixed>
     */
    private function newGroup(string $id, ?array $provider): array
    {
        if ($id === self::GENERAL) {
            $title = $this->t->_('module_sdp_guard_GeneralGroup');
        } else {
            $desc = trim((string) ($provider['description'] ?? ''));
            $title = $desc === '' ? $id : "$desc ($id)";
        }
        return [
            'provider' => $id,
            'title' => $title,
            'host' => (string) ($provider['host'] ?? ''),
            'station' => (string) ($provider['station'] ?? ''),
            'findings' => [],
        ];
    }

    /**
     * The last scheduled probe call over this provider (`sdp-guard probe`, docs/probe.md).
     *
     * @param array<string, mixed> $p
     * @return array{verdict: string, label: string, text: string}
     */
    private function probe(array $p): array
    {
        $verdict = str_replace('-', '_', $p['verdict']);
        return [
            'verdict' => $p['verdict'],
            'label' => $this->t->_('module_sdp_guard_Probe_' . $verdict),
            'text' => $this->t->_('module_sdp_guard_ProbeLast', [
                'received' => $p['received'],
                'sent' => $p['sent'],
                'when' => $this->localTime($p['probed_at']),
            ]),
        ];
    }

    /**
     * @param array<string, mixed> $f
     * @return array<string, mixed>
     */
    private function finding(array $f): array
    {
        $addresses = [];
        foreach (FindingsDocument::ADDRESS_FIELDS as $field) {
            if (($f[$field] ?? null) !== null && $f[$field] !== '') {
                $addresses[] = ['label' => $this->t->_('module_sdp_guard_Addr_' . $field), 'value' => $f[$field]];
            }
        }
        $text = $this->textFor($f);
        return [
            'severity' => $f['severity'],
            'severityLabel' => $this->t->_('module_sdp_guard_Severity_' . $f['severity']),
            'code' => $f['code'],
            'station' => (string) ($f['station'] ?? ''),
            'stationText' => ($f['station'] ?? null) !== null ? $f['station'] : $this->t->_('module_sdp_guard_NoStation'),
            'addresses' => $addresses,
            'message' => $text['message'],
            'remedy' => $text['remedy'],
        ];
    }

    /**
     * @param array<string, array<string, mixed>> $sources
     * @return list<array<string, mixed>>
     */
    private function sources(array $sources): array
    {
        $out = [];
        ksort($sources);
        foreach ($sources as $name => $s) {
            $labelKey = 'module_sdp_guard_Source_' . $name;
            $label = $this->t->_($labelKey);
            if ($s['up']) {
                $state = $this->t->_('module_sdp_guard_SourceUp');
            } elseif (isset($s['since'])) {
                $state = $this->t->_('module_sdp_guard_SourceDownSince', ['since' => $this->localTime($s['since'])]);
            } else {
                $state = $this->t->_('module_sdp_guard_SourceDown');
            }
            $out[] = [
                'name' => $name,
                'label' => $label === $labelKey ? $name : $label,
                'up' => $s['up'],
                'stateText' => $state,
                'detail' => (string) ($s['detail'] ?? ''),
            ];
        }
        return $out;
    }

    /** @param array<string, mixed>|null $daemon */
    private function daemonText(?array $daemon): string
    {
        if ($daemon === null || !is_string($daemon['started_at'] ?? null)) {
            return '';
        }
        return $this->t->_('module_sdp_guard_DaemonRunning', [
            'since' => $this->localTime($daemon['started_at']),
            'count' => is_int($daemon['evaluations'] ?? null) ? $daemon['evaluations'] : 0,
        ]);
    }

    /** @return array{0: string, 1: string, 2: bool} local time, age text, stale */
    private function checkedAt(string $iso): array
    {
        $when = $this->parseTime($iso);
        if ($when === null) {
            return [$iso, '', false];
        }
        $age = $this->now->getTimestamp() - $when->getTimestamp();
        return [$when->setTimezone($this->tz)->format('Y-m-d H:i:s T'), $this->ageText($age), $age > self::STALE_AFTER_SECONDS];
    }

    public function ageText(int $seconds): string
    {
        $seconds = max(0, $seconds);
        if ($seconds < 90) {
            return $this->t->_('module_sdp_guard_AgeSeconds', ['n' => $seconds]);
        }
        if ($seconds < 90 * 60) {
            return $this->t->_('module_sdp_guard_AgeMinutes', ['n' => intdiv($seconds + 30, 60)]);
        }
        if ($seconds < 36 * 3600) {
            return $this->t->_('module_sdp_guard_AgeHours', ['n' => intdiv($seconds + 1800, 3600)]);
        }
        return $this->t->_('module_sdp_guard_AgeDays', ['n' => intdiv($seconds + 43200, 86400)]);
    }

    private function localTime(string $iso): string
    {
        $t = $this->parseTime($iso);
        return $t === null ? $iso : $t->setTimezone($this->tz)->format('Y-m-d H:i:s T');
    }

    private function parseTime(string $iso): ?\DateTimeImmutable
    {
        if (!preg_match('/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/', $iso)) {
            return null;
        }
        try {
            return new \DateTimeImmutable($iso);
        } catch (\Exception $e) {
            return null;
        }
    }
}
