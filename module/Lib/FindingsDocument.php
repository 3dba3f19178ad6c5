<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * A validated findings document (`sdp-guard check --json`, daemon `GET /findings`).
 *
 * The contract is docs/findings-json.md: keys are only ever added within a schema_version,
 * so unknown keys are kept and ignored; a missing or mistyped key the page relies on, or a
 * newer schema_version, is an error.
 */
final class FindingsDocument
{
    public const SCHEMA_VERSION = 1;
    public const STATUSES = ['ok', 'warning', 'critical', 'unknown'];
    public const SEVERITIES = ['critical', 'warning', 'info'];
    public const ADDRESS_FIELDS = ['configured', 'advertised', 'observed', 'masquerade', 'node'];
    /** Verdicts of `sdp-guard probe` (docs/probe.md); the daemon's scheduled probes list them. */
    public const PROBE_VERDICTS = ['two-way', 'one-way', 'no-audio', 'no-answer'];
    /** The largest body the module accepts from the daemon. */
    public const MAX_BYTES = 4 * 1024 * 1024;

    /** @var array<string, mixed> */
    private array $raw;

    /** @param array<string, mixed> $raw */
    private function __construct(array $raw)
    {
        $this->raw = $raw;
    }

    public static function fromJson(string $json): self
    {
        if (strlen($json) > self::MAX_BYTES) {
            throw new InvalidFindingsDocument('the body is larger than ' . self::MAX_BYTES . ' bytes');
        }
        try {
            $data = json_decode($json, true, 64, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new InvalidFindingsDocument('not JSON: ' . $e->getMessage());
        }
        if (!is_array($data) || ($data !== [] && array_is_list($data))) {
            throw new InvalidFindingsDocument('the top level is not a JSON object');
        }
        return self::fromArray($data);
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        $version = $data['schema_version'] ?? null;
        if (!is_int($version)) {
            throw new InvalidFindingsDocument('schema_version: missing or not a whole number');
        }
        if ($version > self::SCHEMA_VERSION) {
            throw new InvalidFindingsDocument(
                "schema_version $version is newer than this module understands (" . self::SCHEMA_VERSION
                . '); update the module'
            );
        }
        if ($version < 1) {
            throw new InvalidFindingsDocument("schema_version $version is not a valid version");
        }
        self::requireString($data, 'checked_at', 'checked_at');
        $status = $data['status'] ?? null;
        if (!is_string($status) || !in_array($status, self::STATUSES, true)) {
            throw new InvalidFindingsDocument('status: expected one of ' . implode(', ', self::STATUSES));
        }

        $summary = self::requireObject($data, 'summary', 'summary');
        foreach (self::SEVERITIES as $sev) {
            if (!is_int($summary[$sev] ?? null) || $summary[$sev] < 0) {
                throw new InvalidFindingsDocument("summary.$sev: expected a whole number >= 0");
            }
        }

        $sources = self::requireObject($data, 'sources', 'sources');
        foreach ($sources as $name => $source) {
            $where = "sources.$name";
            if (!is_array($source) || ($source !== [] && array_is_list($source))) {
                throw new InvalidFindingsDocument("$where: expected an object");
            }
            if (!is_bool($source['up'] ?? null)) {
                throw new InvalidFindingsDocument("$where.up: expected true or false");
            }
            self::optionalString($source, 'detail', "$where.detail");
            self::optionalString($source, 'since', "$where.since");
        }

        $findings = $data['findings'] ?? null;
        if (!is_array($findings) || !array_is_list($findings)) {
            throw new InvalidFindingsDocument('findings: expected a list');
        }
        foreach ($findings as $i => $f) {
            $where = "findings[$i]";
            if (!is_array($f) || ($f !== [] && array_is_list($f))) {
                throw new InvalidFindingsDocument("$where: expected an object");
            }
            self::requireString($f, 'code', "$where.code");
            $sev = $f['severity'] ?? null;
            if (!is_string($sev) || !in_array($sev, self::SEVERITIES, true)) {
                throw new InvalidFindingsDocument(
                    "$where.severity: expected one of " . implode(', ', self::SEVERITIES)
                );
            }
            foreach (array_merge(['provider', 'station'], self::ADDRESS_FIELDS) as $key) {
                self::optionalString($f, $key, "$where.$key");
            }
            self::requireString($f, 'message', "$where.message");
            self::requireString($f, 'remedy', "$where.remedy");
            if (array_key_exists('text', $f)) {
                if (!is_array($f['text'])) {
                    throw new InvalidFindingsDocument("$where.text: expected an object");
                }
                foreach ($f['text'] as $lang => $t) {
                    if (
                        !is_array($t) || !is_string($t['message'] ?? null) || !is_string($t['remedy'] ?? null)
                    ) {
                        throw new InvalidFindingsDocument("$where.text.$lang: expected {message, remedy}");
                    }
                }
            }
        }

        $providers = $data['providers'] ?? [];
        if (!is_array($providers) || !array_is_list($providers)) {
            throw new InvalidFindingsDocument('providers: expected a list');
        }
        foreach ($providers as $i => $p) {
            $where = "providers[$i]";
            if (!is_array($p)) {
                throw new InvalidFindingsDocument("$where: expected an object");
            }
            self::requireString($p, 'id', "$where.id");
            foreach (['description', 'host', 'station', 'transport', 'registration_type'] as $key) {
                self::optionalString($p, $key, "$where.$key");
            }
        }

        $probes = $data['probes'] ?? [];
        if (!is_array($probes) || !array_is_list($probes)) {
            throw new InvalidFindingsDocument('probes: expected a list');
        }
        foreach ($probes as $i => $p) {
            $where = "probes[$i]";
            if (!is_array($p) || ($p !== [] && array_is_list($p))) {
                throw new InvalidFindingsDocument("$where: expected an object");
            }
            foreach (['station', 'provider', 'probed_at'] as $key) {
                self::requireString($p, $key, "$where.$key");
            }
            if (!in_array($p['verdict'] ?? null, self::PROBE_VERDICTS, true)) {
                throw new InvalidFindingsDocument("$where.verdict: expected one of " . implode(', ', self::PROBE_VERDICTS));
            }
            foreach (['sent', 'received'] as $key) {
                if (!is_int($p[$key] ?? null) || $p[$key] < 0) {
                    throw new InvalidFindingsDocument("$where.$key: expected a whole number >= 0");
                }
            }
        }

        if (array_key_exists('daemon', $data) && !is_array($data['daemon'])) {
            throw new InvalidFindingsDocument('daemon: expected an object');
        }

        return new self($data);
    }

    /** @return array<string, mixed> the document as the daemon sent it (unknown keys included) */
    public function toArray(): array
    {
        return $this->raw;
    }

    public function status(): string
    {
        return $this->raw['status'];
    }

    public function checkedAt(): string
    {
        return $this->raw['checked_at'];
    }

    /** @return array{critical: int, warning: int, info: int} */
    public function counts(): array
    {
        $s = $this->raw['summary'];
        return ['critical' => $s['critical'], 'warning' => $s['warning'], 'info' => $s['info']];
    }

    /** @return array<string, array<string, mixed>> */
    public function sources(): array
    {
        return $this->raw['sources'];
    }

    /** @return list<array<string, mixed>> */
    public function findings(): array
    {
        return $this->raw['findings'];
    }

    /** @return list<array<string, mixed>> */
    public function providers(): array
    {
        return $this->raw['providers'] ?? [];
    }

    /** @return list<array<string, mixed>> the last scheduled probe call per station */
    public function probes(): array
    {
        return $this->raw['probes'] ?? [];
    }

    /** @return array<string, mixed>|null */
    public function daemon(): ?array
    {
        return $this->raw['daemon'] ?? null;
    }

    /**
     * @param array<string, mixed> $obj
     */
    private static function requireString(array $obj, string $key, string $where): void
    {
        if (!is_string($obj[$key] ?? null)) {
            throw new InvalidFindingsDocument("$where: missing or not a string");
        }
    }

    /**
     * @param array<string, mixed> $obj
     */
    private static function optionalString(array $obj, string $key, string $where): void
    {
        if (isset($obj[$key]) && !is_string($obj[$key])) {
            throw new InvalidFindingsDocument("$where: expected a string or null");
        }
    }

    /**
     * @param array<string, mixed> $obj
     * @return array<string, mixed>
     */
    private static function requireObject(array $obj, string $key, string $where): array
    {
        $v = $obj[$key] ?? null;
        if (!is_array($v) || ($v !== [] && array_is_list($v))) {
            throw new InvalidFindingsDocument("$where: missing or not an object");
        }
        return $v;
    }
}
