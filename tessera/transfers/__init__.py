"""Transfers (转赠): a ticket's holder gives it to another account.

See ``services`` for the flow, its transactions and its lock order.
"""
