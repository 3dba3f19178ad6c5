<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * The address of the sdp-guard daemon as the operator types it on the module page.
 *
 * Accepted: `127.0.0.1:8796`, `http://127.0.0.1:8796`, `http://[::1]:8796/`,
 * `http://172.17.0.1:8796/findings`. Stored and shown in the normalised form
 * `http://HOST:PORT`; the findings endpoint is that plus `/findings`.
 */
final class DaemonAddress
{
    /** The daemon's default listener (sdp-guard `daemon.listen`). */
    public const DEFAULT = 'http://127.0.0.1:8796';

    private string $base;

    private function __construct(string $base)
    {
        $this->base = $base;
    }

    public static function default(): self
    {
        return new self(self::DEFAULT);
    }

    /**
     * @throws \InvalidArgumentException with an English reason the page shows inside a translated sentence
     */
    public static function parse(string $input): self
    {
        $s = trim($input);
        if ($s === '') {
            throw new \InvalidArgumentException('the address is empty');
        }
        if (!preg_match('#^[a-zA-Z][a-zA-Z0-9+.-]*://#', $s)) {
            $s = 'http://' . $s;
        }
        $parts = parse_url($s);
        if ($parts === false || !isset($parts['host'])) {
            throw new \InvalidArgumentException('expected HOST:PORT or http://HOST:PORT');
        }
        if (strtolower($parts['scheme'] ?? '') !== 'http') {
            throw new \InvalidArgumentException('only http:// is supported (the daemon does not speak TLS)');
        }
        if (isset($parts['user']) || isset($parts['pass']) || isset($parts['query']) || isset($parts['fragment'])) {
            throw new \InvalidArgumentException('user names, queries and fragments are not allowed');
        }
        $path = rtrim($parts['path'] ?? '', '/');
        if ($path !== '' && $path !== '/findings') {
            throw new \InvalidArgumentException('the only path allowed is /findings');
        }
        $host = $parts['host'];
        if (str_starts_with($host, '[')) {
            $inner = substr($host, 1, -1);
            if (filter_var($inner, FILTER_VALIDATE_IP, FILTER_FLAG_IPV6) === false) {
                throw new \InvalidArgumentException("'$host' is not an IPv6 address");
            }
        } elseif (
            filter_var($host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4) === false
            && !preg_match('/^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/', $host)
        ) {
            throw new \InvalidArgumentException("'$host' is not a host name or IP address");
        }
        if (preg_match('/^[0-9.]+$/', $host) && filter_var($host, FILTER_VALIDATE_IP) === false) {
            throw new \InvalidArgumentException("'$host' is not an IPv4 address");
        }
        $port = $parts['port'] ?? 8796;
        if ($port < 1 || $port > 65535) {
            throw new \InvalidArgumentException('the port must be between 1 and 65535');
        }
        return new self('http://' . strtolower($host) . ':' . $port);
    }

    /** Parses a stored value; an empty or broken value falls back to the default address. */
    public static function fromStored(?string $stored): self
    {
        if ($stored === null || trim($stored) === '') {
            return self::default();
        }
        try {
            return self::parse($stored);
        } catch (\InvalidArgumentException $e) {
            return self::default();
        }
    }

    public function base(): string
    {
        return $this->base;
    }

    public function findingsUrl(): string
    {
        return $this->base . '/findings';
    }
}
