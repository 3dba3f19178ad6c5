<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\HttpGetter;
use Modules\ModuleSdpGuard\Lib\TransportError;

/** Test helpers: the sample document and a scripted HttpGetter. */
final class Fixture
{
    public static function json(): string
    {
        return (string) file_get_contents(SDP_GUARD_FIXTURES . '/findings-critical.json');
    }

    /** @return array<string, mixed> */
    public static function data(): array
    {
        return json_decode(self::json(), true, 64, JSON_THROW_ON_ERROR);
    }

    /** @param array<string, mixed> $data */
    public static function encode(array $data): string
    {
        return json_encode($data, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE);
    }

    /** An HttpGetter that answers with $status/$body, or throws when $error is set. */
    public static function http(int $status = 200, string $body = '', ?string $error = null): HttpGetter
    {
        return new class ($status, $body, $error) implements HttpGetter {
            /** @var list<string> */
            public array $urls = [];

            public function __construct(private int $status, private string $body, private ?string $error)
            {
            }

            public function get(string $url, float $timeoutSeconds): array
            {
                $this->urls[] = $url;
                if ($this->error !== null) {
                    throw new TransportError($this->error);
                }
                return ['status' => $this->status, 'body' => $this->body];
            }
        };
    }
}
