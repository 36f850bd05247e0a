<?php
/**
 * The addon without a domwatch to talk to: signatures, settings, hooks, escaping, and a
 * domwatch that is down never breaking WHMCS.
 */

use DomwatchAddon\AdminPage;
use DomwatchAddon\Client;
use DomwatchAddon\Events;
use DomwatchAddon\Widget;
use PHPUnit\Framework\TestCase;

/** A client answering from arrays, for what a real domwatch will not send (hostile text). */
class ScriptedClient extends Client
{
    public $summary = [];
    public $cases = [];
    public $detail = [];

    public function __construct()
    {
        parent::__construct('https://domwatch.invalid', 'dwt_SECRET_TOKEN_VALUE', 'EVENT_SECRET_VALUE');
    }

    public function summary(): array
    {
        return $this->summary;
    }

    public function openCases(): array
    {
        return $this->cases;
    }

    public function caseDetail(int $id): array
    {
        return $this->detail;
    }
}

/**
 * @group offline
 */
class OfflineTest extends TestCase
{
    const HOSTILE = '<script>alert("x")</script>';

    protected function setUp(): void
    {
        $GLOBALS['whmcs_activity'] = [];
        $_POST = [];
    }

    public function testSignatureIsTheContractsHmac(): void
    {
        // The same vector as domwatch's own test (crates/webhooks): HMAC-SHA256("secret", "1700000000.{}").
        $this->assertSame(
            'sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163',
            Client::signature('secret', '1700000000', '{}')
        );
    }

    public function testSecretsAreWhmcsPasswordFields(): void
    {
        $fields = domwatch_config()['fields'];
        $this->assertSame('text', $fields['url']['Type']);
        $this->assertSame('password', $fields['api_token']['Type']);
        $this->assertSame('password', $fields['event_secret']['Type']);
        $this->assertSame('success', domwatch_activate()['status']);
    }

    public function testSettingsDecryptPasswordFieldsOnly(): void
    {
        \WHMCS\Database\Capsule::$tables['tbladdonmodules'] = [
            ['module' => 'domwatch', 'setting' => 'url', 'value' => 'enc:not-a-password'],
            ['module' => 'domwatch', 'setting' => 'api_token', 'value' => 'enc:dwt_abc'],
            ['module' => 'domwatch', 'setting' => 'event_secret', 'value' => 'plain-secret'],
            ['module' => 'other', 'setting' => 'url', 'value' => 'x'],
        ];
        $this->assertSame(
            ['url' => 'enc:not-a-password', 'api_token' => 'dwt_abc', 'event_secret' => 'plain-secret'],
            \DomwatchAddon\Settings::load()
        );
    }

    public function testHooksRegisterTheWidgetAndFiveEvents(): void
    {
        $hooks = $GLOBALS['whmcs_hooks'];
        foreach (['InvoicePaid', 'AfterRegistrarRenewalFailed', 'AfterRegistrarTransferFailed', 'AfterRegistrarRenewal', 'AfterRegistrarTransfer', 'AdminHomeWidgets'] as $hook) {
            $this->assertCount(1, $hooks[$hook] ?? [], $hook);
        }
        $this->assertInstanceOf(\WHMCS\Module\AbstractWidget::class, $hooks['AdminHomeWidgets'][0]());
    }

    public function testHookSubjects(): void
    {
        $this->assertSame([[], 42], Events::subject('InvoicePaid', ['invoiceid' => '42']));
        $this->assertSame([['example.com'], null], Events::subject('AfterRegistrarRenewal', ['params' => ['domainname' => 'Example.COM']]));
        $this->assertSame([['a.de'], null], Events::subject('AfterRegistrarTransferFailed', ['params' => ['sld' => 'a', 'tld' => 'de']]));
    }

    public function testAnUnconfiguredAddonStaysQuiet(): void
    {
        \WHMCS\Database\Capsule::$tables['tbladdonmodules'] = [];
        $GLOBALS['whmcs_hooks']['InvoicePaid'][0](['invoiceid' => 5]);
        $this->assertSame([], $GLOBALS['whmcs_activity']);
    }

    public function testADownDomwatchIsLoggedAndNeverBreaksWhmcs(): void
    {
        $port = self::closedPort();
        $client = new Client('http://127.0.0.1:' . $port, 'dwt_TOKEN', 'EVENT_SECRET_VALUE');
        $started = microtime(true);
        Events::forward('AfterRegistrarRenewalFailed', ['params' => ['domainname' => 'x.com']], $client);
        $this->assertLessThan(6.0, microtime(true) - $started);
        $this->assertCount(1, $GLOBALS['whmcs_activity']);
        $this->assertStringContainsString('domwatch: AfterRegistrarRenewalFailed could not be forwarded', $GLOBALS['whmcs_activity'][0]);
        $this->assertStringNotContainsString('EVENT_SECRET_VALUE', $GLOBALS['whmcs_activity'][0]);
    }

    public function testTheOverviewEscapesEverything(): void
    {
        $client = new ScriptedClient();
        $client->summary = [
            'open_cases' => 1,
            'at_stake' => [['currency' => 'EUR', 'amount' => '<b>1</b>']],
            'by_kind' => [['kind' => 'expiry_drift', 'label' => self::HOSTILE, 'count' => 1, 'at_stake' => []]],
        ];
        $client->cases = [['id' => 3, 'kind' => 'expiry_drift', 'domain' => 'x"><img src=x>.com', 'summary' => self::HOSTILE]];
        $html = (new AdminPage($client, 'addonmodules.php?module=domwatch'))->render([], []);
        $this->assertNoMarkupFrom($html);
        $this->assertStringContainsString('&lt;script&gt;', $html);
        $this->assertStringContainsString('addonmodules.php?module=domwatch&amp;case=3', $html);
    }

    public function testTheCasePageEscapesTheGuideAndOptions(): void
    {
        $client = new ScriptedClient();
        $client->detail = [
            'case' => ['id' => 3, 'domain' => self::HOSTILE, 'state' => 'open'],
            'guide' => ['title' => self::HOSTILE, 'what_happened' => self::HOSTILE, 'what_it_costs' => '', 'steps' => [self::HOSTILE]],
            'options' => [['name' => 'a"b', 'description' => self::HOSTILE, 'actions' => []]],
        ];
        $html = (new AdminPage($client, 'addonmodules.php?module=domwatch'))->render(['case' => '3'], []);
        $this->assertNoMarkupFrom($html);
        $this->assertStringContainsString('name="option" value="1" checked', $html);
        $this->assertStringContainsString('name="token" value="test-csrf"', $html);
    }

    public function testFixNowNeedsTheCsrfToken(): void
    {
        $this->expectException(\RuntimeException::class);
        $page = new AdminPage(new ScriptedClient(), 'addonmodules.php?module=domwatch');
        $page->render([], ['domwatch_action' => 'apply', 'case' => '3']);
    }

    public function testTheWidgetShowsWhyItHasNoData(): void
    {
        $widget = new Widget(new Client('http://127.0.0.1:' . self::closedPort(), 'dwt_TOKEN_NOT_SHOWN'));
        $html = $widget->generateOutput($widget->getData());
        $this->assertStringContainsString('domwatch did not answer', $html);
        $this->assertStringNotContainsString('dwt_TOKEN_NOT_SHOWN', $html);
    }

    private function assertNoMarkupFrom(string $html): void
    {
        $this->assertStringNotContainsString('<script', $html);
        $this->assertStringNotContainsString('<img', $html);
        $this->assertStringNotContainsString('<b>', $html);
        $this->assertStringNotContainsString('dwt_SECRET_TOKEN_VALUE', $html);
        $this->assertStringNotContainsString('EVENT_SECRET_VALUE', $html);
    }

    /** A port nobody listens on: bound and closed again at once. */
    private static function closedPort(): int
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $name = stream_socket_get_name($socket, false);
        fclose($socket);
        return (int) substr($name, strrpos($name, ':') + 1);
    }
}
