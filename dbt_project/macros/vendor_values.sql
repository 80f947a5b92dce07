{#-
    Vendor-owned categorical values are data, not contracts (docs/design.md, "Vendor values").
    Every categorical field a vendor controls is normalised here into a documented bucket:

    * a known value (after trim + lower-case)   -> its bucket (var('vendor_values')[field]);
    * nothing at all (null, '' or only spaces)  -> 'unmapped';
    * anything else                             -> 'other'.

    The raw value stays in a `<column>_raw` column of the staging model, and the mart
    `vendor_value_notices` reports every value that landed in 'other' (or 'unmapped' where the
    vendor documents the field as always present). Nothing here can fail a build.
-#}

{#- The served text of a JSON field: a string as is, a number/boolean as text, an object or a
    list as its JSON text (extra nesting stays visible to analysts); JSON null -> null. -#}
{% macro json_text(json_expr) -%}
    case
        when jsonb_typeof({{ json_expr }}) in ('object', 'array') then ({{ json_expr }})::text
        else {{ json_expr }} #>> '{}'
    end
{%- endmacro %}

{#- Bucket of a categorical text value under var('vendor_values')[field] (a list of known
    values, or a mapping raw value -> bucket for synonyms such as 'cancelled'). -#}
{% macro vendor_bucket(field, text_expr) -%}
    {%- set known = var('vendor_values')[field] -%}
    {%- set mapping = known if known is mapping else dict(zip(known, known)) -%}
    case
        when nullif(trim({{ text_expr }}), '') is null then 'unmapped'
        {%- for raw, bucket in mapping.items() | sort %}
            when lower(trim({{ text_expr }})) = '{{ raw | lower }}' then '{{ bucket }}'
        {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{#- Language code of a vendor's language field (jsonb): trim, lower-case, primary subtag
    ('EN-us' / 'en_US' -> 'en'); an object such as {"code": "fr", "name": "Français"} gives its
    `code`. A code outside var('accepted_languages') -> 'other'; nothing -> null (downstream the
    catalog seed or 'unmapped' applies). -#}
{% macro normalize_language(json_expr) -%}
    {%- set buckets = ['other', 'unmapped'] -%}
    {%- set known = var('accepted_languages') | reject('in', buckets) | list -%}
    {%- set code -%}
        nullif(split_part(split_part(lower(trim(
            case
                when jsonb_typeof({{ json_expr }}) = 'object' then {{ json_expr }} ->> 'code'
                when jsonb_typeof({{ json_expr }}) in ('string', 'number') then {{ json_expr }} #>> '{}'
            end
        )), '-', 1), '_', 1), '')
    {%- endset -%}
    case
        when {{ code }} is null then null
        when {{ code }} in ('{{ known | join("', '") }}') then {{ code }}
        else 'other'
    end
{%- endmacro %}

{#- Bucket of an IANA time-zone name: 'iana' when PostgreSQL knows it, else 'other'/'unmapped'. -#}
{% macro iana_time_zone_bucket(text_expr) -%}
    case
        when nullif(trim({{ text_expr }}), '') is null then 'unmapped'
        when {{ text_expr }} in (select tz.name from pg_catalog.pg_timezone_names as tz) then 'iana'
        else 'other'
    end
{%- endmacro %}

{#- An integer from a JSON text that may hold anything (a vendor's count nested one level deeper,
    a word): null unless it is a plain integer. -#}
{% macro safe_integer(text_expr) -%}
    case when {{ text_expr }} ~ '^\s*-?\d{1,9}\s*$' then ({{ text_expr }})::integer end
{%- endmacro %}

{#- A number from a JSON text that may hold anything ('', '87', '12.5', a word): null unless it
    is a plain decimal number. -#}
{% macro safe_numeric(text_expr) -%}
    case when {{ text_expr }} ~ '^\s*-?\d{1,12}(\.\d+)?\s*$' then ({{ text_expr }})::numeric end
{%- endmacro %}

{#- A channel signal: the trimmed, lower-cased text of a raw value, null when empty. -#}
{% macro channel_signal(json_expr) -%}
    nullif(lower(trim({{ json_text(json_expr) }})), '')
{%- endmacro %}
