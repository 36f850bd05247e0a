<?php
/**
 * The addon's admin page (Addons > domwatch): the open cases grouped by kind with the
 * money at stake; a case's guide and its fix options; Fix now shows the plan first
 * (dry_run) and writes only after "Apply". Everything shown is escaped.
 */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class AdminPage
{
    /** @var Client */
    private $client;
    /** @var string addonmodules.php?module=domwatch */
    private $link;

    public function __construct(Client $client, string $moduleLink)
    {
        $this->client = $client;
        $this->link = $moduleLink;
    }

    /** The page for this request ($get/$post: the request's parameters). */
    public function render(array $get, array $post): string
    {
        try {
            $action = (string) ($post['domwatch_action'] ?? '');
            if ($action !== '') {
                if (function_exists('check_token')) {
                    check_token('WHMCS.admin.default');
                }
                $case = (int) ($post['case'] ?? 0);
                $option = isset($post['option']) && ctype_digit((string) $post['option']) ? (int) $post['option'] : null;
                return $action === 'apply' ? $this->apply($case, $option) : $this->plan($case, $option);
            }
            if (isset($get['case'])) {
                return $this->casePage((int) $get['case']);
            }
            return $this->overview();
        } catch (ApiError $e) {
            return Html::error($e->getMessage()) . $this->back();
        }
    }

    private function overview(): string
    {
        $summary = $this->client->summary();
        $cases = $this->client->openCases();
        $open = (int) ($summary['open_cases'] ?? 0);
        if ($open === 0) {
            return '<p class="domwatch-fine">Everything is fine: no open cases.</p>';
        }
        $out = '<p>' . $open . ' open cases · at stake: <strong>' . Html::money($summary['at_stake'] ?? []) . '</strong></p>';
        $byKind = [];
        foreach ($cases as $case) {
            $byKind[(string) ($case['kind'] ?? '')][] = $case;
        }
        foreach ($summary['by_kind'] ?? [] as $group) {
            $kind = (string) ($group['kind'] ?? '');
            $out .= '<h2 class="domwatch-kind">' . Html::e($group['label'] ?? $kind) . ' <small>('
                . (int) ($group['count'] ?? 0) . ' · ' . Html::money($group['at_stake'] ?? []) . ')</small></h2>';
            $out .= '<table class="table table-condensed datatable domwatch-cases"><tr><th>#</th><th>Domain</th><th>What happened</th><th>At stake</th><th></th></tr>';
            foreach ($byKind[$kind] ?? [] as $case) {
                $out .= $this->caseRow($case);
            }
            $out .= '</table>';
        }
        return $out;
    }

    private function caseRow(array $case): string
    {
        $id = (int) ($case['id'] ?? 0);
        $stake = isset($case['at_stake']) && is_array($case['at_stake']) ? [$case['at_stake']] : [];
        return '<tr class="domwatch-case"><td>' . $id . '</td><td>' . Html::e($case['domain'] ?? '')
            . '</td><td>' . Html::e($case['summary'] ?? '') . '</td><td>' . Html::money($stake)
            . '</td><td><a class="btn btn-default btn-xs" href="' . Html::e($this->link . '&case=' . $id)
            . '">Guide and Fix now</a></td></tr>';
    }

    private function casePage(int $id): string
    {
        $detail = $this->client->caseDetail($id);
        $case = $detail['case'] ?? [];
        $guide = $detail['guide'] ?? [];
        $out = '<h2>' . Html::e($guide['title'] ?? 'Case') . ': ' . Html::e($case['domain'] ?? '') . '</h2>';
        $out .= '<p class="domwatch-what">' . Html::e($guide['what_happened'] ?? '') . '</p>';
        $out .= '<p class="domwatch-cost">' . Html::e($guide['what_it_costs'] ?? '') . '</p><ol class="domwatch-steps">';
        foreach ($guide['steps'] ?? [] as $step) {
            $out .= '<li>' . Html::e($step) . '</li>';
        }
        $out .= '</ol>';
        $options = $detail['options'] ?? [];
        if (($case['state'] ?? 'open') !== 'open' || !$options) {
            return $out . '<p>Nothing to fix here.</p>' . $this->back();
        }
        $out .= '<form method="post" action="' . Html::e($this->link) . '">' . self::token()
            . '<input type="hidden" name="case" value="' . $id . '"><input type="hidden" name="domwatch_action" value="plan">';
        foreach (array_values($options) as $i => $option) {
            // Options are numbered from 1 as listed, as domwatch's API takes them.
            $out .= '<div class="radio"><label><input type="radio" name="option" value="' . ($i + 1) . '"'
                . ($i === 0 ? ' checked' : '') . '> ' . Html::e($option['description'] ?? ($option['name'] ?? '')) . '</label></div>';
        }
        return $out . '<button type="submit" class="btn btn-primary domwatch-fix">Fix now</button> (shows the plan first)</form>' . $this->back();
    }

    /** Fix now, step one: the plan, nothing written. */
    private function plan(int $id, ?int $option): string
    {
        $answer = $this->client->fix($id, $option, true);
        $out = '<h2>Plan for case #' . $id . '</h2><p>Nothing has been written yet. Applying makes exactly these writes:</p>'
            . $this->steps($answer);
        $out .= '<form method="post" action="' . Html::e($this->link) . '">' . self::token()
            . '<input type="hidden" name="case" value="' . $id . '"><input type="hidden" name="domwatch_action" value="apply">'
            . ($option === null ? '' : '<input type="hidden" name="option" value="' . $option . '">')
            . '<button type="submit" class="btn btn-danger domwatch-apply">Apply</button> '
            . '<a class="btn btn-default" href="' . Html::e($this->link . '&case=' . $id) . '">Cancel</a></form>';
        return $out;
    }

    /** Fix now, step two: the writes (at most once, audited by domwatch). */
    private function apply(int $id, ?int $option): string
    {
        $answer = $this->client->fix($id, $option, false);
        $ok = !empty($answer['succeeded']);
        return '<div class="alert ' . ($ok ? 'alert-success domwatch-applied">Applied.' : 'alert-warning domwatch-failed">Not every step succeeded.')
            . '</div>' . $this->steps($answer) . $this->back();
    }

    private function steps(array $answer): string
    {
        $out = '<ol class="domwatch-plan">';
        foreach ($answer['report']['steps'] ?? [] as $step) {
            $outcome = $step['outcome'] ?? [];
            $what = is_array($outcome) ? (string) ($outcome['outcome'] ?? '') : (string) $outcome;
            $detail = is_array($outcome) && isset($outcome['detail']) ? ': ' . (string) $outcome['detail'] : '';
            $out .= '<li>' . Html::e($step['description'] ?? '') . ' <em>' . Html::e(str_replace('_', ' ', $what) . $detail) . '</em></li>';
        }
        return $out . '</ol>';
    }

    private function back(): string
    {
        return '<p><a href="' . Html::e($this->link) . '">Back to all cases</a></p>';
    }

    private static function token(): string
    {
        return function_exists('generate_token') ? generate_token('form') : '';
    }
}
