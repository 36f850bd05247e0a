<?php
/**
 * domwatch addon for WHMCS (PHP 7.4 to 8.3): the open domain cases of a domwatch
 * instance with their guides and Fix now, a home widget, and hooks that tell domwatch
 * about payments, renewals and transfers as they happen.
 *
 * Install: copy modules/addons/domwatch into WHMCS, activate it under System Settings >
 * Addon Modules, enter the domwatch URL, an API token (`domwatch token create --name whmcs
 * --scope fix`) and the event secret (domwatch's `[events] secret`), and grant access to
 * the admin roles that may fix cases.
 */

defined('WHMCS') or die('Access denied');

require_once __DIR__ . '/lib/Html.php';
require_once __DIR__ . '/lib/Client.php';
require_once __DIR__ . '/lib/Settings.php';
require_once __DIR__ . '/lib/AdminPage.php';

function domwatch_config()
{
    return [
        'name' => 'domwatch',
        'description' => 'Drift between WHMCS and your registrars as cases: money at stake, a guide and Fix now (plan first, applied once, audited).',
        'version' => '0.1.0',
        'author' => 'domwatch',
        'language' => 'english',
        'fields' => [
            'url' => [
                'FriendlyName' => 'domwatch URL',
                'Type' => 'text',
                'Size' => '60',
                'Description' => 'Where `domwatch serve` answers, e.g. https://domwatch.internal:8400',
            ],
            'api_token' => [
                'FriendlyName' => 'API token',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'From `domwatch token create --name whmcs --scope fix` (scope read: no Fix now)',
            ],
            'event_secret' => [
                'FriendlyName' => 'Event secret',
                'Type' => 'password',
                'Size' => '60',
                'Description' => 'The same value as `[events] secret` in domwatch.toml: signs payments, renewals and transfers sent to domwatch',
            ],
        ],
    ];
}

function domwatch_activate()
{
    // Nothing to create: the cases live in domwatch, the settings in WHMCS's own table.
    return [
        'status' => 'success',
        'description' => 'domwatch is active: enter its URL, API token and event secret under Configure.',
    ];
}

function domwatch_deactivate()
{
    return ['status' => 'success', 'description' => 'domwatch is deactivated; nothing was stored in WHMCS.'];
}

function domwatch_output($vars)
{
    $client = \DomwatchAddon\Client::fromSettings(is_array($vars) ? $vars : []);
    $link = (string) ($vars['modulelink'] ?? 'addonmodules.php?module=domwatch');
    $page = new \DomwatchAddon\AdminPage($client, $link);
    echo '<div class="domwatch">' . $page->render($_GET, $_POST) . '</div>';
}
