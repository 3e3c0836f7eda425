"""Channel allocations (issue 18 item 3): an organizer gives a distributor's sales channel
places of a session from the one inventory, and takes back what is unsold.

An ``Allocation`` is one grant: by price zones and/or sections (every free place there, or
N of them), by chosen seats, or N places anywhere in the open pool; with an optional release
date. Its places are inventory units whose ``channel`` is the distributor's channel and whose
``allocation_id`` is the allocation (``inventory.services.allocate_places``): the public
never sees them free, other channels never sell them, and a channel whose
``sells_open_pool`` is off sells nothing else, so it can never sell more than it was given.

Giving and taking back are each one transaction, all or nothing: the allocation row, the
conditional UPDATE of free open-pool places (never held, sold or blocked places, never
another channel's) and the audit entry; asking for 50 places where 40 are free changes
nothing and says so. A return (by hand, all or N; or automatic once ``release_at`` has
passed, ``tasks.release_due_allocations``, a periodic task) gives unsold places back to the
open pool (``inventory.services.return_allocated_places``, which offers them to the waiting
list first) and emits ``partners.signals.ALLOCATION_RETURNED`` to the distributor and the
organizer in that transaction. Places sold or held stay with the channel; once an allocation
is over, later runs of the task return what a lapsed hold or a refund frees.

Counts: ``allocated`` and ``returned`` are kept on the row; what the channel still has
(free, held, sold, blocked) is counted from the units (``inventory.selectors
.allocation_unit_counts``), so ``allocated = returned + free + held + sold + blocked``.

Lock order: the allocation row (``select_for_update``), then the places (PostgreSQL: chosen
places locked in id order, waiting; any N skipping places a buyer is taking right now).

Pages (``views.py``), in the partner console: the organizer's sessions, allocations with
their counts, the forms to allocate and return, and a seat map coloured by channel; the
distributor's allocations and its "sell from my allocation" form, which sells through
``sale.channels.channel_order`` exactly as the channel API does.
"""
