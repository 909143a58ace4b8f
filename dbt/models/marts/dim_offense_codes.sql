select
    offense_code,
    offense_name,
    offense_category,
    offense_group,
    crime_against,
    is_notifiable,
    is_sensitive,
    sensitive_reason
from {{ ref('nibrs_offense_codes') }}
