<?php
/**
 * The domwatch HTTP API as the addon uses it: the summary, open cases, a case with its
 * guide and fix options, Fix now (plan first with dry_run), and signed inbound events.
 * The token and the secret are sent, never printed; errors carry domwatch's own message.
 */

namespace DomwatchAddon;

defined('WHMCS') or die('Access denied');

class ApiError extends \RuntimeException
{
    /** @var int 0 when no HTTP answer came */
    public $status;

    public function __construct(string $message, int $status = 0)
    {
        parent::__construct($message);
        $this->status = $status;
    }
}

class Client
{
    /** @var string */
    private $baseUrl;
    /** @var string */
    private $token;
    /** @var string */
    private $eventSecret;
    /** @var int */
    private $timeout;

    public function __construct(string $baseUrl, string $token, string $eventSecret = '', int $timeout = 10)
    {
        $this->baseUrl = rtrim(trim($baseUrl), '/');
        $this->token = trim($token);
        $this->eventSecret = $eventSecret;
        $this->timeout = $timeout;
    }

    public static function fromSettings(array $settings, int $timeout = 10): self
    {
        return new self(
            (string) ($settings['url'] ?? ''),
            (string) ($settings['api_token'] ?? ''),
            (string) ($settings['event_secret'] ?? ''),
            $timeout
        );
    }

    /** The dashboard address, for links. */
    public function baseUrl(): string
    {
        return $this->baseUrl;
    }

    public function summary(): array
    {
        return $this->api('GET', '/api/summary');
    }

    public function openCases(): array
    {
        return $this->api('GET', '/api/cases?state=open');
    }

    public function caseDetail(int $id): array
    {
        return $this->api('GET', '/api/cases/' . $id);
    }

    /**
     * Fix now: with $dryRun the plan (nothing written), else the writes themselves.
     * $option numbers the case's options from 1 as listed; null: the recommended one.
     */
    public function fix(int $id, ?int $option, bool $dryRun): array
    {
        $body = ['dry_run' => $dryRun];
        if ($option !== null) {
            $body['option'] = $option;
        }
        return $this->api('POST', '/api/cases/' . $id . '/fix', json_encode($body));
    }

    /**
     * Posts an inbound event, signed with the event secret (no token: the signature is
     * the authentication). A short timeout: WHMCS waits for its hooks.
     */
    public function sendEvent(string $event, array $domains, ?int $invoiceId, int $timeout = 5): array
    {
        if ($this->eventSecret === '') {
            throw new ApiError('the event secret is not set in the domwatch addon settings');
        }
        $payload = ['event' => $event, 'domains' => array_values($domains)];
        if ($invoiceId !== null) {
            $payload['invoice_id'] = $invoiceId;
        }
        $body = json_encode($payload);
        $timestamp = (string) time();
        $headers = [
            'X-Domwatch-Timestamp: ' . $timestamp,
            'X-Domwatch-Signature: ' . self::signature($this->eventSecret, $timestamp, $body),
        ];
        return $this->request('POST', '/api/events', $body, $headers, $timeout, 'the event secret');
    }

    /** sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>, as domwatch checks it. */
    public static function signature(string $secret, string $timestamp, string $body): string
    {
        return 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    }

    private function api(string $method, string $path, ?string $body = null): array
    {
        if ($this->token === '') {
            throw new ApiError('the API token is not set in the domwatch addon settings (make one with `domwatch token create --name whmcs --scope fix`)');
        }
        return $this->request($method, $path, $body, ['Authorization: Bearer ' . $this->token], $this->timeout, 'the API token');
    }

    /** $credential: what authenticates this request, named in errors. */
    private function request(string $method, string $path, ?string $body, array $headers, int $timeout, string $credential): array
    {
        if (!preg_match('#^https?://#i', $this->baseUrl)) {
            throw new ApiError('the domwatch URL is not set (or not http(s)://) in the domwatch addon settings');
        }
        $curl = curl_init($this->baseUrl . $path);
        $headers[] = 'Accept: application/json';
        if ($body !== null) {
            $headers[] = 'Content-Type: application/json';
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
        }
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_CONNECTTIMEOUT => min($timeout, 5),
            CURLOPT_TIMEOUT => $timeout,
            CURLOPT_FOLLOWLOCATION => false,
        ]);
        $answer = curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $error = curl_error($curl);
        curl_close($curl);
        if ($answer === false) {
            throw new ApiError('domwatch did not answer (' . $error . '): check the domwatch URL and that `domwatch serve` runs');
        }
        $json = json_decode((string) $answer, true);
        if ($status < 200 || $status >= 300) {
            $message = is_array($json) && isset($json['error']) ? (string) $json['error'] : 'HTTP ' . $status;
            throw new ApiError(self::explain($status, $message, $credential), $status);
        }
        if (!is_array($json)) {
            throw new ApiError('domwatch answered something that is not JSON (HTTP ' . $status . ')', $status);
        }
        return $json;
    }

    private static function explain(int $status, string $message, string $credential): string
    {
        if ($status === 401) {
            return 'domwatch refused the credentials: ' . $message . ' (check ' . $credential . ' in the addon settings)';
        }
        if ($status === 403 && $credential === 'the API token') {
            return 'domwatch refused this with the configured token: ' . $message . ' (Fix now needs a token with scope fix)';
        }
        return 'domwatch answered HTTP ' . $status . ': ' . $message;
    }
}
