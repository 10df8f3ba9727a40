"""Feast entities: the business keys features hang off (singular names, business codes as join keys)."""

from feast import Entity, ValueType

item = Entity(
    name="item", join_keys=["item"], value_type=ValueType.STRING, description="An item by its code."
)
warehouse = Entity(
    name="warehouse",
    join_keys=["warehouse"],
    value_type=ValueType.STRING,
    description="A warehouse by its code.",
)
lane = Entity(
    name="lane",
    join_keys=["lane"],
    value_type=ValueType.STRING,
    description="A shipping lane: '<origin warehouse>-><destination region>'.",
)
carrier = Entity(
    name="carrier", join_keys=["carrier"], value_type=ValueType.STRING, description="A carrier by its code."
)
