<?php
/**
 * The addon against a running `domwatch serve` (the embedded sandboxes), as driven by
 * crates/app/tests/whmcs_addon.rs: DOMWATCH_URL, DOMWATCH_FIX_TOKEN, DOMWATCH_READ_TOKEN,
 * DOMWATCH_EVENT_SECRET. Without them the tests are skipped (the driver never leaves them out).
 */

use DomwatchAddon\AdminPage;
use DomwatchAddon\ApiError;
use DomwatchAddon\Client;
use DomwatchAddon\Events;
use DomwatchAddon\Widget;
use PHPUnit\Framework\TestCase;

/**
 * @group live
 */
class LiveTest extends TestCase
{
    const LINK = 'addonmodules.php?module=domwatch';

    protected function setUp(): void
    {
        foreach (['DOMWATCH_URL', 'DOMWATCH_FIX_TOKEN', 'DOMWATCH_READ_TOKEN', 'DOMWATCH_EVENT_SECRET'] as $var) {
            if ((string) getenv($var) === '') {
                $this->markTestSkipped("$var is not set: run through `cargo test -p domwatch --test whmcs_addon`");
            }
        }
        $GLOBALS['whmcs_activity'] = [];
        $_POST = [];
    }

    private static function client(string $token = 'DOMWATCH_FIX_TOKEN', string $secret = ''): Client
    {
        return new Client(getenv('DOMWATCH_URL'), getenv($token), $secret ?: getenv('DOMWATCH_EVENT_SECRET'));
    }

    public function testTheWidgetShowsOpenCasesMoneyAndTheLastRun(): void
    {
        $summary = self::client('DOMWATCH_READ_TOKEN')->summary();
        $this->assertGreaterThan(0, $summary['open_cases']);
        $widget = new Widget(self::client('DOMWATCH_READ_TOKEN'));
        $html = $widget->generateOutput($widget->getData());
        $this->assertStringContainsString('<strong class="domwatch-open">' . $summary['open_cases'] . '</strong>', $html);
        $this->assertStringContainsString($summary['at_stake'][0]['currency'], $html);
        $this->assertStringContainsString('Last run: ' . $summary['last_run']['outcome'], $html);
        $this->assertStringContainsString('href="' . getenv('DOMWATCH_URL') . '/"', $html);
        $this->assertStringNotContainsString(getenv('DOMWATCH_READ_TOKEN'), $html);
    }

    public function testTheOverviewGroupsOpenCasesByKind(): void
    {
        $summary = self::client()->summary();
        $html = (new AdminPage(self::client(), self::LINK))->render([], []);
        $this->assertSame(count($summary['by_kind']), substr_count($html, '<h2 class="domwatch-kind">'));
        $this->assertSame($summary['open_cases'], substr_count($html, '<tr class="domwatch-case">'));
        $this->assertStringContainsString(htmlspecialchars($summary['by_kind'][0]['label'], ENT_QUOTES | ENT_HTML5), $html);
        $this->assertStringNotContainsString(getenv('DOMWATCH_FIX_TOKEN'), $html);
    }

    public function testFixNowShowsThePlanFirstAndAppliesOnce(): void
    {
        $id = $this->fixableCase();
        $page = new AdminPage(self::client(), self::LINK);
        $detail = $page->render(['case' => (string) $id], []);
        $this->assertStringContainsString('<ol class="domwatch-steps">', $detail);
        $this->assertStringContainsString('Fix now', $detail);

        $_POST = ['token' => 'test-csrf', 'domwatch_action' => 'plan', 'case' => (string) $id, 'option' => '1'];
        $plan = $page->render([], $_POST);
        $this->assertStringContainsString('Nothing has been written yet', $plan);
        $this->assertStringContainsString('would apply', $plan);
        $this->assertSame([], self::applied($id), 'the plan wrote nothing');

        $_POST['domwatch_action'] = 'apply';
        $applied = $page->render([], $_POST);
        $this->assertStringContainsString('domwatch-applied', $applied);
        $writes = self::applied($id);
        $this->assertNotEmpty($writes);

        $again = $page->render([], $_POST);
        $this->assertStringContainsString('already applied', $again);
        $this->assertSame($writes, self::applied($id), 'applied at most once');
    }

    public function testAReadTokenCannotFix(): void
    {
        $id = $this->fixableCase();
        $page = new AdminPage(self::client('DOMWATCH_READ_TOKEN'), self::LINK);
        $_POST = ['token' => 'test-csrf', 'domwatch_action' => 'apply', 'case' => (string) $id, 'option' => '1'];
        $html = $page->render([], $_POST);
        $this->assertStringContainsString('Fix now needs a token with scope fix', $html);
    }

    public function testHooksForwardSignedEvents(): void
    {
        $domain = self::client()->openCases()[0]['domain'];
        Events::forward('AfterRegistrarRenewal', ['params' => ['domainname' => $domain]], self::client());
        Events::forward('InvoicePaid', ['invoiceid' => 1], self::client());
        $this->assertCount(2, $GLOBALS['whmcs_activity']);
        $this->assertMatchesRegularExpression('/^domwatch: AfterRegistrarRenewal for .+ forwarded \(event \d+\)$/', $GLOBALS['whmcs_activity'][0]);
        $this->assertMatchesRegularExpression('/^domwatch: InvoicePaid for invoice 1 forwarded \(event \d+\)$/', $GLOBALS['whmcs_activity'][1]);
    }

    public function testAWrongSecretIsLoggedNotThrown(): void
    {
        Events::forward('AfterRegistrarTransfer', ['params' => ['domainname' => 'x.com']], self::client('DOMWATCH_FIX_TOKEN', 'not-the-secret-0123456789'));
        $this->assertCount(1, $GLOBALS['whmcs_activity']);
        $this->assertStringContainsString('could not be forwarded: domwatch refused the credentials', $GLOBALS['whmcs_activity'][0]);
        $this->assertStringNotContainsString('not-the-secret', $GLOBALS['whmcs_activity'][0]);
    }

    /** An open case whose recommended option is written by domwatch (not by hand). */
    private function fixableCase(): int
    {
        $client = self::client();
        foreach ($client->openCases() as $case) {
            if (self::applied((int) $case['id']) !== []) {
                continue;
            }
            $plan = $client->fix((int) $case['id'], null, true);
            $steps = $plan['report']['steps'] ?? [];
            if ($steps && $steps[0]['outcome']['outcome'] === 'would_apply' && count($steps) === 1) {
                return (int) $case['id'];
            }
        }
        $this->fail('no open case with a one-step automatic fix in the sandbox');
    }

    /** The applied actions of a case, as domwatch records them. */
    private static function applied(int $id): array
    {
        try {
            $actions = self::client()->caseDetail($id)['actions'] ?? [];
        } catch (ApiError $e) {
            return [];
        }
        return array_values(array_filter($actions, function ($a) {
            return ($a['status'] ?? '') === 'applied';
        }));
    }
}
