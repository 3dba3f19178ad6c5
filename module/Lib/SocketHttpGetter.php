<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * A small HTTP/1.0 GET client on plain sockets, so the module needs neither curl nor
 * allow_url_fopen, and the connect timeout is honoured (file_get_contents uses
 * default_socket_timeout for the connect). Only http:// URLs; the body is capped.
 */
final class SocketHttpGetter implements HttpGetter
{
    private int $maxBytes;

    public function __construct(int $maxBytes = FindingsDocument::MAX_BYTES + 65536)
    {
        $this->maxBytes = $maxBytes;
    }

    public function get(string $url, float $timeoutSeconds): array
    {
        $parts = parse_url($url);
        if ($parts === false || ($parts['scheme'] ?? '') !== 'http' || !isset($parts['host'])) {
            throw new TransportError("not an http:// URL: $url");
        }
        $host = $parts['host'];
        $port = $parts['port'] ?? 80;
        $path = ($parts['path'] ?? '/') . (isset($parts['query']) ? '?' . $parts['query'] : '');
        $deadline = microtime(true) + $timeoutSeconds;

        $errno = 0;
        $errstr = '';
        $sock = @stream_socket_client("tcp://$host:$port", $errno, $errstr, $timeoutSeconds);
        if ($sock === false) {
            $reason = $errstr !== '' ? $errstr : "error $errno";
            throw new TransportError("cannot connect to $host:$port ($reason)");
        }
        try {
            $hostHeader = str_contains($host, ':') && !str_starts_with($host, '[') ? "[$host]" : $host;
            $request = "GET $path HTTP/1.0\r\nHost: $hostHeader:$port\r\n"
                . "Accept: application/json\r\nUser-Agent: ModuleSdpGuard\r\nConnection: close\r\n\r\n";
            if (@fwrite($sock, $request) === false) {
                throw new TransportError("cannot send the request to $host:$port");
            }
            $raw = '';
            while (!feof($sock)) {
                $left = $deadline - microtime(true);
                if ($left <= 0) {
                    throw new TransportError(sprintf('no complete answer within %.1f s', $timeoutSeconds));
                }
                stream_set_timeout($sock, (int) floor($left), (int) (($left - floor($left)) * 1e6));
                $chunk = @fread($sock, 65536);
                if (stream_get_meta_data($sock)['timed_out']) {
                    throw new TransportError(sprintf('no complete answer within %.1f s', $timeoutSeconds));
                }
                if ($chunk === false) {
                    throw new TransportError("reading from $host:$port failed");
                }
                $raw .= $chunk;
                if (strlen($raw) > $this->maxBytes) {
                    throw new TransportError("the answer is larger than {$this->maxBytes} bytes");
                }
            }
        } finally {
            fclose($sock);
        }
        return self::parseResponse($raw);
    }

    /** @return array{status: int, body: string} */
    public static function parseResponse(string $raw): array
    {
        $sep = strpos($raw, "\r\n\r\n");
        if ($sep === false) {
            if ($raw === '') {
                throw new TransportError('the connection closed without an answer');
            }
            throw new TransportError('the answer is not HTTP (no end of headers)');
        }
        $head = substr($raw, 0, $sep);
        $body = substr($raw, $sep + 4);
        $lines = explode("\r\n", $head);
        if (!preg_match('#^HTTP/\d(?:\.\d)? (\d{3})#', $lines[0], $m)) {
            throw new TransportError('the answer is not HTTP: ' . substr($lines[0], 0, 60));
        }
        $chunked = false;
        foreach (array_slice($lines, 1) as $line) {
            if (preg_match('/^transfer-encoding:\s*chunked\s*$/i', $line)) {
                $chunked = true;
            }
        }
        if ($chunked) {
            $body = self::dechunk($body);
        }
        return ['status' => (int) $m[1], 'body' => $body];
    }

    private static function dechunk(string $body): string
    {
        $out = '';
        $pos = 0;
        while (true) {
            $eol = strpos($body, "\r\n", $pos);
            if ($eol === false) {
                throw new TransportError('truncated chunked answer');
            }
            $size = hexdec(trim(explode(';', substr($body, $pos, $eol - $pos))[0]));
            if (!is_int($size)) {
                throw new TransportError('bad chunk size');
            }
            if ($size === 0) {
                return $out;
            }
            $out .= substr($body, $eol + 2, $size);
            $pos = $eol + 2 + $size + 2;
            if ($pos > strlen($body)) {
                throw new TransportError('truncated chunked answer');
            }
        }
    }
}
