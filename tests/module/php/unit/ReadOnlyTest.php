<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use PHPUnit\Framework\TestCase;

/**
 * The module must not change MikoPBX configuration from PHP: provider changes go through
 * `sdp-guard sync` and MikoPBX's own REST API. This scans the shipped sources for the ways PHP
 * could do it anyway.
 */
final class ReadOnlyTest extends TestCase
{
    /** @return array<string, string> path => source */
    private static function sources(): array
    {
        $out = [];
        $it = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(SDP_GUARD_MODULE_DIR, \FilesystemIterator::SKIP_DOTS));
        foreach ($it as $file) {
            if (preg_match('/\.(php|volt)$/', $file->getFilename())) {
                $out[substr($file->getPathname(), strlen(SDP_GUARD_MODULE_DIR) + 1)] = (string) file_get_contents($file->getPathname());
            }
        }
        ksort($out);
        return $out;
    }

    public function testNoMikoPbxModelOrConfigurationIsTouched(): void
    {
        $forbidden = [
            'MikoPBX\\Common\\Models' => 'MikoPBX configuration models (Sip, Providers, NetworkFilters, ...)',
            'mikopbx.db' => 'the MikoPBX configuration database',
            '/pbxcore/api/v3' => "MikoPBX's REST API (that is sdp-guard sync's job)",
            'asterisk -rx' => 'Asterisk reloads',
            '/etc/asterisk' => 'generated Asterisk configuration',
            'ConfigClass::' => 'hooks that generate configuration',
            'generatePeersPj' => 'pjsip.conf generation',
            'overrideProviderPJSIPOptions' => 'pjsip.conf generation',
        ];
        $sources = self::sources();
        self::assertArrayHasKey('Lib/SdpGuardConf.php', $sources);
        foreach ($sources as $path => $code) {
            foreach ($forbidden as $needle => $what) {
                self::assertStringNotContainsString($needle, $code, "$path uses $what");
            }
        }
    }

    public function testTheOnlyRecordSavedIsTheModulesOwnSettings(): void
    {
        foreach (self::sources() as $path => $code) {
            if (preg_match_all('/(->save\(|saveEntity\(|->delete\(|->create\(|->update\()/', $code, $m) === 0) {
                continue;
            }
            self::assertSame('App/Controllers/ModuleSdpGuardController.php', $path, "$path writes records");
            self::assertSame(['saveEntity('], array_values(array_unique($m[1])));
            self::assertStringContainsString('private function settingsRecord(): ModuleSdpGuard', $code);
        }
    }
}
