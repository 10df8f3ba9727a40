"""Planning: replenishment, slotting, S&OP with scenarios, routes, loads and dock schedules over the gold marts."""
