<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * One HTTP GET. Implementations throw TransportError when no HTTP answer arrives
 * (connection refused, timeout, name not resolved) and return any HTTP answer, whatever its status.
 */
interface HttpGetter
{
    /**
     * @return array{status: int, body: string}
     * @throws TransportError
     */
    public function get(string $url, float $timeoutSeconds): array;
}
