<?php
/**
 * The few WHMCS functions and classes the addon uses, so its PHP runs under PHPUnit
 * outside WHMCS: hooks are recorded, the activity log is kept in memory, the settings
 * table is an array, CSRF tokens are a fixed hidden field.
 */

namespace WHMCS\Module {
    abstract class AbstractWidget
    {
        protected $title;
        protected $description;
        protected $weight = 100;
        protected $columns = 1;
        protected $cache = false;
        protected $cacheExpiry = 3600;
        protected $requiredPermission = '';

        abstract public function getData();

        abstract public function generateOutput($data);

        public function getTitle()
        {
            return $this->title;
        }
    }
}

namespace WHMCS\Database {
    class Capsule
    {
        /** @var array<string, array<int, array<string, string>>> */
        public static $tables = [];

        public static function table(string $name): FakeQuery
        {
            return new FakeQuery(self::$tables[$name] ?? []);
        }
    }

    class FakeQuery
    {
        private $rows;

        public function __construct(array $rows)
        {
            $this->rows = $rows;
        }

        public function where(string $column, $value): self
        {
            return new self(array_values(array_filter($this->rows, function ($r) use ($column, $value) {
                return ($r[$column] ?? null) === $value;
            })));
        }

        public function pluck(string $value, string $key): array
        {
            $out = [];
            foreach ($this->rows as $r) {
                $out[$r[$key]] = $r[$value];
            }
            return $out;
        }
    }
}

namespace {
    define('WHMCS', true);

    $GLOBALS['whmcs_hooks'] = [];
    $GLOBALS['whmcs_activity'] = [];

    function add_hook(string $hook, int $priority, callable $function): void
    {
        $GLOBALS['whmcs_hooks'][$hook][] = $function;
    }

    function logActivity(string $message): void
    {
        $GLOBALS['whmcs_activity'][] = $message;
    }

    /** Values stored by the test as "enc:<plain>" are "encrypted"; others decrypt to ''. */
    function decrypt(string $value): string
    {
        return strpos($value, 'enc:') === 0 ? substr($value, 4) : '';
    }

    function generate_token(string $type = 'form'): string
    {
        return '<input type="hidden" name="token" value="test-csrf">';
    }

    function check_token(string $scope = 'WHMCS.admin.default'): void
    {
        if (($_POST['token'] ?? '') !== 'test-csrf') {
            throw new \RuntimeException('CSRF check failed');
        }
    }

    require_once __DIR__ . '/../modules/addons/domwatch/domwatch.php';
    require_once __DIR__ . '/../modules/addons/domwatch/hooks.php';
}
