<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/** What asking the daemon for its findings gave: a document, or why there is none. */
final class FetchResult
{
    public const OK = 'ok';
    /** No HTTP answer at all: the daemon is not running or not listening there. */
    public const UNREACHABLE = 'unreachable';
    /** Something answered with a status other than 200. */
    public const HTTP_ERROR = 'http_error';
    /** 200, but the body is not a findings document this module can read. */
    public const INVALID = 'invalid';

    public string $state;
    public string $url;
    public ?FindingsDocument $document;
    /** English detail for logs and the REST API; the page wraps it in a translated sentence. */
    public string $detail;
    public int $httpStatus;

    private function __construct(string $state, string $url, ?FindingsDocument $doc, string $detail, int $httpStatus)
    {
        $this->state = $state;
        $this->url = $url;
        $this->document = $doc;
        $this->detail = $detail;
        $this->httpStatus = $httpStatus;
    }

    public static function ok(string $url, FindingsDocument $doc): self
    {
        return new self(self::OK, $url, $doc, '', 200);
    }

    public static function failed(string $state, string $url, string $detail, int $httpStatus = 0): self
    {
        return new self($state, $url, null, $detail, $httpStatus);
    }

    public function reachable(): bool
    {
        return $this->state !== self::UNREACHABLE;
    }
}
