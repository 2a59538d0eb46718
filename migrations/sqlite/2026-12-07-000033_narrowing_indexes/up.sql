-- Attribute filters ask for "size=42" whatever its case: the pairs are
-- matched on lower(value) per attribute, which this index answers (the
-- plain (attribute_id, value) index cannot, and every value was read).
CREATE INDEX products_attribute_value_lower ON products_attribute_value (attribute_id, lower(value));
ANALYZE products_attribute_value;
