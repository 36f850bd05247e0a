<?php
/**
 * Forwards WHMCS hooks to domwatch's POST /api/events, signed. Never throws and never
 * waits long: a payment or a renewal in WHMCS goes on whatever domwatch answers. Every
 * outcome is written to WHMCS's activity log.
 */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class Events
{
    const FORWARDED = [
        'InvoicePaid',
        'AfterRegistrarRenewalFailed',
        'AfterRegistrarTransferFailed',
        'AfterRegistrarRenewal',
        'AfterRegistrarTransfer',
    ];

    /** The hook's handler; $client is for tests, else built from the saved settings. */
    public static function forward(string $event, $vars, ?Client $client = null): void
    {
        try {
            if ($client === null) {
                $settings = Settings::load();
                if (($settings['url'] ?? '') === '' || ($settings['event_secret'] ?? '') === '') {
                    return; // not configured: nothing to tell, nothing to log on every payment
                }
                $client = Client::fromSettings($settings);
            }
            list($domains, $invoiceId) = self::subject($event, is_array($vars) ? $vars : []);
            if (!$domains && $invoiceId === null) {
                logActivity('domwatch: ' . $event . ' not forwarded: the hook named no domain or invoice');
                return;
            }
            $answer = $client->sendEvent($event, $domains, $invoiceId);
            logActivity(sprintf(
                'domwatch: %s %s forwarded (event %s)',
                $event,
                self::describe($domains, $invoiceId),
                isset($answer['event_id']) ? (string) $answer['event_id'] : '?'
            ));
        } catch (\Throwable $e) {
            logActivity('domwatch: ' . $event . ' could not be forwarded: ' . self::oneLine($e->getMessage()));
        }
    }

    /** The domains and invoice a hook is about. */
    public static function subject(string $event, array $vars): array
    {
        if ($event === 'InvoicePaid') {
            $id = isset($vars['invoiceid']) ? (int) $vars['invoiceid'] : 0;
            return [[], $id > 0 ? $id : null];
        }
        $params = isset($vars['params']) && is_array($vars['params']) ? $vars['params'] : $vars;
        $domain = '';
        if (!empty($params['domainname'])) {
            $domain = (string) $params['domainname'];
        } elseif (!empty($params['sld']) && !empty($params['tld'])) {
            $domain = $params['sld'] . '.' . $params['tld'];
        }
        return [$domain === '' ? [] : [strtolower($domain)], null];
    }

    private static function describe(array $domains, ?int $invoiceId): string
    {
        $what = [];
        if ($domains) {
            $what[] = 'for ' . implode(', ', $domains);
        }
        if ($invoiceId !== null) {
            $what[] = 'for invoice ' . $invoiceId;
        }
        return implode(' ', $what);
    }

    /** Activity log entries are one line without control characters. */
    private static function oneLine(string $text): string
    {
        return (string) preg_replace('/[\x00-\x1f\x7f]+/', ' ', $text);
    }
}
