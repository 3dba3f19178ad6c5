<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * The daemon answered, but its body is not a findings document this module can read
 * (see docs/findings-json.md in the sdp-guard repository).
 */
final class InvalidFindingsDocument extends \RuntimeException
{
}
