<?php

/*
 * Test stub of MikoPBX\Modules\Setup\PbxExtensionSetupBase.
 *
 * Mirrors: mikopbx/Core src/Modules/Setup/PbxExtensionSetupBase.php
 *          (and src/Modules/Setup/PbxExtensionSetupInterface.php)
 *          @ e26e6b973bbef6a0d4d1064fe495e62c70f475df
 *
 * Kept: the constructor and the signatures of every public method of the interface, so a
 * subclass that overrides one with a wrong signature fails to load here as it would on the PBX;
 * the constructor reads module.json the same way (version, min_pbx_version, developer,
 * support_email are read without defaults there).
 * Left out: Phalcon's Injectable parent and every body that needs MikoPBX services; the stub
 * bodies only report success.
 */

namespace MikoPBX\Modules\Setup;

abstract class PbxExtensionSetupBase
{
    protected string $moduleUniqueID;
    protected $version;
    protected string $min_pbx_version = '2024.2.3';
    protected $developer;
    protected $support_email;
    protected string $moduleDir;
    protected array $messages;
    public $lic_product_id;
    public $lic_feature_id;
    public array $wiki_links = [];

    public function __construct(string $moduleUniqueID)
    {
        $this->moduleUniqueID = $moduleUniqueID;
        $this->messages = [];
        $this->moduleDir = (string) getenv('SDP_GUARD_MODULE_DIR');
        $settings_file = "{$this->moduleDir}/module.json";
        if (file_exists($settings_file)) {
            $module_settings = json_decode(file_get_contents($settings_file), true);
            if ($module_settings) {
                $this->version = $module_settings['version'];
                $this->min_pbx_version = $module_settings['min_pbx_version'] ?? '';
                $this->developer = $module_settings['developer'];
                $this->support_email = $module_settings['support_email'];
                $this->lic_product_id = $module_settings['lic_product_id'] ?? 0;
                $this->lic_feature_id = $module_settings['lic_feature_id'] ?? 0;
            }
        }
    }

    public function installModule(): bool
    {
        return true;
    }

    public function checkCompatibility(): bool
    {
        return true;
    }

    public function activateLicense(): bool
    {
        return true;
    }

    public function installFiles(): bool
    {
        return true;
    }

    public function fixFilesRights(): bool
    {
        return true;
    }

    public function installDB(): bool
    {
        return true;
    }

    public function uninstallModule(bool $keepSettings = false): bool
    {
        return true;
    }

    public function unInstallDB(bool $keepSettings = false): bool
    {
        return true;
    }

    public function unregisterModule(): bool
    {
        return true;
    }

    public function unInstallFiles(bool $keepSettings = false): bool
    {
        return true;
    }

    public function getMessages(): array
    {
        return $this->messages;
    }

    public function registerNewModule(): bool
    {
        return true;
    }

    public function createSettingsTableByModelsAnnotations(): bool
    {
        return true;
    }

    public function addToSidebar(): bool
    {
        return true;
    }
}
