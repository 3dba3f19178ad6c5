<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Setup;

use MikoPBX\Modules\Setup\PbxExtensionSetupBase;

/**
 * Installer and uninstaller. The base class does everything this module needs: it creates
 * db/module.db from the annotations of Models/ModuleSdpGuard.php, registers the module and
 * adds it to the sidebar. The module has no defaults to seed: an empty settings table means
 * "daemon at http://127.0.0.1:8796, no worker" (Lib/Settings.php).
 */
class PbxExtensionSetup extends PbxExtensionSetupBase
{
}
