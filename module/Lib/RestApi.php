<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * The module's REST actions, independent of MikoPBX classes:
 *
 *  - `findings`: the daemon's findings document, unchanged (MikoPBX wraps it in `data`);
 *  - `status`:   a short summary that also answers when the daemon is down.
 *
 * Both only read from the daemon; nothing here writes MikoPBX configuration.
 */
final class RestApi
{
    public const ACTIONS = ['findings', 'status'];

    private DaemonClient $client;

    public function __construct(DaemonClient $client)
    {
        $this->client = $client;
    }

    /**
     * @return array{success: bool, data: array<string, mixed>, errors: list<string>}
     */
    public function handle(string $action): array
    {
        switch (strtolower($action)) {
            case 'findings':
                return $this->findings();
            case 'status':
                return ['success' => true, 'data' => self::summary($this->client->fetch()), 'errors' => []];
            default:
                return [
                    'success' => false,
                    'data' => [],
                    'errors' => ["Unknown action '$action'; ModuleSdpGuard serves: " . implode(', ', self::ACTIONS)],
                ];
        }
    }

    /**
     * @return array{success: bool, data: array<string, mixed>, errors: list<string>}
     */
    private function findings(): array
    {
        $r = $this->client->fetch();
        if ($r->document !== null) {
            return ['success' => true, 'data' => $r->document->toArray(), 'errors' => []];
        }
        $errors = [self::describe($r)];
        if ($r->state === FetchResult::UNREACHABLE) {
            $errors[] = 'Start the daemon: on the Docker host run "systemctl start sdp-guard", or enable '
                . '"Run the daemon on this PBX" on the module page if python3 and sdp-guard are installed on the PBX.';
        }
        return ['success' => false, 'data' => self::summary($r), 'errors' => $errors];
    }

    /**
     * @return array<string, mixed>
     */
    public static function summary(FetchResult $r): array
    {
        $doc = $r->document;
        return [
            'status' => $doc !== null ? $doc->status() : 'unknown',
            'counts' => $doc !== null ? $doc->counts() : null,
            'checked_at' => $doc !== null ? $doc->checkedAt() : null,
            'daemon_reachable' => $r->reachable(),
            'daemon_state' => $r->state,
            'daemon_url' => $r->url,
            'error' => $doc !== null ? null : self::describe($r),
        ];
    }

    public static function describe(FetchResult $r): string
    {
        switch ($r->state) {
            case FetchResult::UNREACHABLE:
                return "The sdp-guard daemon does not answer at {$r->url} ({$r->detail}).";
            case FetchResult::HTTP_ERROR:
                return "{$r->url} answered HTTP {$r->httpStatus} instead of the findings.";
            case FetchResult::INVALID:
                return "The daemon at {$r->url} sent a document this module cannot read: {$r->detail}.";
            default:
                return '';
        }
    }
}
