"""Stockyard OLTP: schema, migrations and the domain services of the TMS/WMS core.

Services (``orders``, ``inventory``, ``picking``, ``shipments``, ``returns``, ``supply``) take a ``session`` keyword
argument and run inside the caller's transaction (use :func:`oltp.db.session_scope` or
:func:`oltp.tx.run_in_transaction`); each writes its outbox event (:func:`oltp.events.emit`) in that same
transaction. Callers name things by business codes (item, warehouse, customer, carrier), never by database ids,
except for the documents the services create (order, shipment, purchase order, transfer, pick task ids).

Global lock order (details in ``oltp/locking.md``): orders (by id) → purchase orders / transfers →
inventory balances (one statement, ascending id) → inserts into append-only tables.
"""
