<?php
/**
 * Hooks of the domwatch addon: the home widget, and payments, renewals and transfers
 * forwarded to domwatch (signed, short timeout, never breaking WHMCS's own flow).
 */

defined('WHMCS') or die('Access denied');

require_once __DIR__ . '/lib/Html.php';
require_once __DIR__ . '/lib/Client.php';
require_once __DIR__ . '/lib/Settings.php';
require_once __DIR__ . '/lib/Events.php';
require_once __DIR__ . '/lib/Widget.php';

add_hook('AdminHomeWidgets', 1, function () {
    return new \DomwatchAddon\Widget();
});

foreach (\DomwatchAddon\Events::FORWARDED as $domwatchEvent) {
    add_hook($domwatchEvent, 1, function ($vars) use ($domwatchEvent) {
        \DomwatchAddon\Events::forward($domwatchEvent, $vars);
    });
}
