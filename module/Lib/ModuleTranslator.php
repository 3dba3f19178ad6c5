<?php

declare(strict_types=1);

namespace Modules\ModuleSdpGuard\Lib;

/**
 * Translates the module's own keys from Messages/<lang>.php, English first and the UI language
 * merged over it (the same order MikoPBX's MessagesProvider uses), with MikoPBX's `%name%`
 * placeholders. Used for the text the page builds at run time, so it works without the
 * MikoPBX translation service and can be tested.
 */
final class ModuleTranslator
{
    /** @var array<string, string> */
    private array $messages;
    private string $language;

    /** @param array<string, string> $messages */
    public function __construct(array $messages, string $language)
    {
        $this->messages = $messages;
        $this->language = $language;
    }

    public static function forLanguage(string $language, ?string $messagesDir = null): self
    {
        $dir = $messagesDir ?? dirname(__DIR__) . '/Messages';
        $messages = self::load("$dir/en.php");
        foreach (self::candidates($language) as $lang) {
            if ($lang !== 'en' && is_file("$dir/$lang.php")) {
                $messages = array_merge($messages, self::load("$dir/$lang.php"));
                break;
            }
        }
        return new self($messages, $language);
    }

    /**
     * The languages to try for a MikoPBX UI language code, best first: `pt_BR` -> pt_BR, pt, en.
     *
     * @return list<string>
     */
    public static function candidates(string $language): array
    {
        $out = [];
        if ($language !== '') {
            $out[] = $language;
            $base = strtolower(explode('_', str_replace('-', '_', $language))[0]);
            if ($base !== $language) {
                $out[] = $base;
            }
        }
        if (!in_array('en', $out, true)) {
            $out[] = 'en';
        }
        return $out;
    }

    public function language(): string
    {
        return $this->language;
    }

    /** @param array<string, scalar> $params */
    public function _(string $key, array $params = []): string
    {
        $text = $this->messages[$key] ?? $key;
        foreach ($params as $name => $value) {
            $text = str_replace("%$name%", (string) $value, $text);
        }
        return $text;
    }

    /** @return array<string, string> */
    private static function load(string $file): array
    {
        $arr = is_file($file) ? require $file : [];
        return is_array($arr) ? $arr : [];
    }
}
