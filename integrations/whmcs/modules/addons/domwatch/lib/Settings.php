<?php
/** The addon's settings outside its own page (hooks, widget): read from WHMCS's table. */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class Settings
{
    const PASSWORD_FIELDS = ['api_token', 'event_secret'];

    /** url, api_token, event_secret; an empty array when the addon is not configured. */
    public static function load(): array
    {
        $rows = \WHMCS\Database\Capsule::table('tbladdonmodules')
            ->where('module', 'domwatch')
            ->pluck('value', 'setting');
        $settings = [];
        foreach ($rows as $setting => $value) {
            $settings[$setting] = in_array($setting, self::PASSWORD_FIELDS, true)
                ? self::reveal((string) $value)
                : (string) $value;
        }
        return $settings;
    }

    /** Password fields are kept encrypted by WHMCS; an unencrypted value is used as it is. */
    private static function reveal(string $value): string
    {
        if ($value !== '' && function_exists('decrypt')) {
            $plain = (string) decrypt($value);
            if ($plain !== '') {
                return $plain;
            }
        }
        return $value;
    }
}
