<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/** Reads the daemon's `GET /findings`. Never writes anywhere. */
final class DaemonClient
{
    /** Short: the page and the REST API call this while the operator waits. */
    public const TIMEOUT_SECONDS = 3.0;

    private DaemonAddress $address;
    private HttpGetter $http;
    private float $timeout;

    public function __construct(DaemonAddress $address, ?HttpGetter $http = null, float $timeout = self::TIMEOUT_SECONDS)
    {
        $this->address = $address;
        $this->http = $http ?? new SocketHttpGetter();
        $this->timeout = $timeout;
    }

    public function fetch(): FetchResult
    {
        $url = $this->address->findingsUrl();
        try {
            $answer = $this->http->get($url, $this->timeout);
        } catch (TransportError $e) {
            return FetchResult::failed(FetchResult::UNREACHABLE, $url, $e->getMessage());
        }
        if ($answer['status'] !== 200) {
            return FetchResult::failed(
                FetchResult::HTTP_ERROR,
                $url,
                "HTTP {$answer['status']}",
                $answer['status']
            );
        }
        try {
            return FetchResult::ok($url, FindingsDocument::fromJson($answer['body']));
        } catch (InvalidFindingsDocument $e) {
            return FetchResult::failed(FetchResult::INVALID, $url, $e->getMessage(), 200);
        }
    }
}
