{#-
    PII helpers. The hash key lives in meta.pii_key (readable only by the owner role) and is
    read by a scalar subquery at run time, so it never appears in SQL text, logs or manifests.
-#}

{#- E-mail as the business rules compare it: lower(trim(email)); empty strings become null. -#}
{% macro normalize_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- Legacy match key: the normalised e-mail without the plus-part of the local part. -#}
{% macro strip_plus_address(normalized_expr) -%}
    regexp_replace({{ normalized_expr }}, '\+[^@]*@', '@')
{%- endmacro %}

{#- Keyed hash of an already normalised e-mail: hex(HMAC-SHA256(email, meta.pii_key.key)). -#}
{% macro pii_hash(normalized_expr) -%}
    encode(
        hmac(
            {{ normalized_expr }},
            (select pii_key.key from {{ source('meta', 'pii_key') }} as pii_key limit 1),
            'sha256'
        ),
        'hex'
    )
{%- endmacro %}
