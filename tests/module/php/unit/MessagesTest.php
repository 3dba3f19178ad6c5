<?php

declare(strict_types=1);

namespace SdpGuardModuleTests;

use Modules\ModuleSdpGuard\Lib\FindingsDocument;
use Modules\ModuleSdpGuard\Lib\ModuleTranslator;
use PHPUnit\Framework\TestCase;

/** Messages/en.php, ja.php, ru.php: complete, consistent, and covering every key the module uses. */
final class MessagesTest extends TestCase
{
    private const LANGS = ['en', 'ja', 'ru'];

    /** @return array<string, string> */
    private static function messages(string $lang): array
    {
        $arr = require SDP_GUARD_MODULE_DIR . "/Messages/$lang.php";
        self::assertIsArray($arr, "Messages/$lang.php does not return an array");
        return $arr;
    }

    /** @return list<string> */
    private static function placeholders(string $text): array
    {
        preg_match_all('/%([a-zA-Z_]+)%/', $text, $m);
        $p = array_unique($m[1]);
        sort($p);
        return $p;
    }

    public function testEveryLanguageHasExactlyTheEnglishKeys(): void
    {
        $en = array_keys(self::messages('en'));
        sort($en);
        foreach (['ja', 'ru'] as $lang) {
            $keys = array_keys(self::messages($lang));
            sort($keys);
            self::assertSame([], array_values(array_diff($en, $keys)), "missing in $lang.php");
            self::assertSame([], array_values(array_diff($keys, $en)), "only in $lang.php");
        }
    }

    public function testNoMessageIsEmptyAndPlaceholdersMatchEnglish(): void
    {
        $en = self::messages('en');
        foreach (self::LANGS as $lang) {
            foreach (self::messages($lang) as $key => $text) {
                self::assertIsString($text, "$lang:$key");
                self::assertNotSame('', trim($text), "$lang:$key is empty");
                self::assertSame(self::placeholders($en[$key]), self::placeholders($text), "$lang:$key placeholders");
            }
        }
    }

    public function testTranslationsAreNotEnglishCopies(): void
    {
        $en = self::messages('en');
        foreach (['ja', 'ru'] as $lang) {
            $same = array_keys(array_intersect_assoc(self::messages($lang), $en));
            sort($same);
            // Product names only.
            self::assertSame(['BreadcrumbModuleSdpGuard', 'module_sdp_guard_Source_tailscale'], $same, $lang);
        }
    }

    public function testMikoPbxModuleNameAndDescriptionKeysExist(): void
    {
        // PbxExtensionSetupBase::registerNewModule() reads Breadcrumb<ID> and SubHeader<ID>.
        foreach (self::LANGS as $lang) {
            self::assertArrayHasKey('BreadcrumbModuleSdpGuard', self::messages($lang));
            self::assertArrayHasKey('SubHeaderModuleSdpGuard', self::messages($lang));
        }
    }

    public function testEveryKeyTheModuleUsesIsDefined(): void
    {
        $en = self::messages('en');
        $used = [];
        $it = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator(SDP_GUARD_MODULE_DIR, \FilesystemIterator::SKIP_DOTS));
        foreach ($it as $file) {
            if (!preg_match('/\.(php|volt)$/', $file->getFilename()) || str_contains($file->getPathname(), '/Messages/')) {
                continue;
            }
            preg_match_all("/'(module_sdp_guard_[A-Za-z]+(?:_[a-z]+)?)'/", (string) file_get_contents($file->getPathname()), $m);
            $used = array_merge($used, $m[1]);
        }
        // Keys built at run time from the findings contract (docs/findings-json.md).
        foreach (FindingsDocument::STATUSES as $s) {
            $used[] = "module_sdp_guard_Status_$s";
        }
        foreach (FindingsDocument::SEVERITIES as $s) {
            $used[] = "module_sdp_guard_Severity_$s";
        }
        foreach (FindingsDocument::ADDRESS_FIELDS as $a) {
            $used[] = "module_sdp_guard_Addr_$a";
        }
        foreach (['mikopbx', 'tailscale', 'registry'] as $src) {
            $used[] = "module_sdp_guard_Source_$src";
        }
        foreach (FindingsDocument::PROBE_VERDICTS as $v) {
            $used[] = 'module_sdp_guard_Probe_' . str_replace('-', '_', $v);
        }
        $used = array_values(array_unique($used));
        self::assertGreaterThan(40, count($used));
        foreach ($used as $key) {
            self::assertArrayHasKey($key, $en, "used but not in Messages/en.php: $key");
        }
        $unused = array_diff(array_keys($en), $used, ['BreadcrumbModuleSdpGuard', 'SubHeaderModuleSdpGuard']);
        self::assertSame([], array_values($unused), 'defined in Messages/en.php but never used');
    }

    public function testTheTranslatorFallsBackToEnglish(): void
    {
        self::assertSame('Check again', ModuleTranslator::forLanguage('de')->_('module_sdp_guard_Refresh'));
        self::assertSame('再確認', ModuleTranslator::forLanguage('ja')->_('module_sdp_guard_Refresh'));
        self::assertSame('Проверить снова', ModuleTranslator::forLanguage('ru')->_('module_sdp_guard_Refresh'));
        self::assertSame(['pt_BR', 'pt', 'en'], ModuleTranslator::candidates('pt_BR'));
        self::assertSame(
            'The sdp-guard daemon does not answer at U (R).',
            ModuleTranslator::forLanguage('de')->_('module_sdp_guard_DaemonUnreachable', ['url' => 'U', 'reason' => 'R'])
        );
    }
}
