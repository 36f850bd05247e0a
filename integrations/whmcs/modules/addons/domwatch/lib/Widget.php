<?php
/**
 * The admin home widget: open cases, money at stake, the last run and a link. It reads
 * only GET /api/summary (precomputed by domwatch), so the dashboard never waits for a
 * registrar.
 */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class Widget extends \WHMCS\Module\AbstractWidget
{
    protected $title = 'domwatch';
    protected $description = 'Open domain cases and money at stake';
    protected $weight = 150;
    protected $columns = 1;
    protected $cache = true;
    protected $cacheExpiry = 120;
    protected $requiredPermission = '';

    /** @var Client|null */
    private $client;

    public function __construct(?Client $client = null)
    {
        $this->client = $client;
    }

    public function getData()
    {
        try {
            $client = $this->client ?: Client::fromSettings(Settings::load(), 5);
            return ['summary' => $client->summary(), 'base' => $client->baseUrl()];
        } catch (\Throwable $e) {
            return ['error' => $e->getMessage()];
        }
    }

    public function generateOutput($data)
    {
        if (isset($data['error'])) {
            return Html::error('domwatch: ' . $data['error']);
        }
        $s = $data['summary'];
        $open = (int) ($s['open_cases'] ?? 0);
        $out = '<div class="widget-content-padded domwatch-widget">';
        $out .= '<p><strong class="domwatch-open">' . $open . '</strong> open '
            . ($open === 1 ? 'case' : 'cases') . ' · at stake: <span class="domwatch-at-stake">'
            . Html::money($s['at_stake'] ?? []) . '</span></p>';
        $out .= '<p class="domwatch-last-run">Last run: ' . self::lastRun($s['last_run'] ?? null) . '</p>';
        $dashboard = $data['base'] . (string) ($s['dashboard_url'] ?? '/');
        $out .= '<p><a href="addonmodules.php?module=domwatch">Cases and Fix now</a> · '
            . '<a href="' . Html::e($dashboard) . '" target="_blank" rel="noopener">domwatch dashboard</a></p>';
        return $out . '</div>';
    }

    private static function lastRun($run): string
    {
        if (!is_array($run)) {
            return 'none yet';
        }
        $when = ($run['finished_at'] ?? '') ?: ($run['started_at'] ?? '');
        return Html::e($run['outcome'] ?? '?') . ' (' . Html::e($when) . ')';
    }
}
