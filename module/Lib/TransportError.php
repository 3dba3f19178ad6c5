<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/** No HTTP answer arrived from the daemon (refused, timed out, unresolvable, cut off). */
final class TransportError extends \RuntimeException
{
}
