<?php
/** Escaping and formatting shared by the admin page and the widget. */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class Html
{
    /** Every value that reaches a page goes through this. */
    public static function e($value): string
    {
        return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
    }

    /** "12.00 EUR, 3.50 USD" from [{"currency","amount"}], or "—". */
    public static function money($sums): string
    {
        if (!is_array($sums) || count($sums) === 0) {
            return '—';
        }
        $parts = [];
        foreach ($sums as $sum) {
            if (is_array($sum) && isset($sum['amount'], $sum['currency'])) {
                $parts[] = self::e($sum['amount']) . ' ' . self::e($sum['currency']);
            }
        }
        return $parts ? implode(', ', $parts) : '—';
    }

    public static function error(string $message): string
    {
        return '<div class="alert alert-danger domwatch-error">' . self::e($message) . '</div>';
    }
}
