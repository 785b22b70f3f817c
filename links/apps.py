from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Payment links"

    def ready(self) -> None:
        from chain.signals import deposits_changed
        from links.pricing import check_configuration

        deposits_changed.connect(_deposits_changed, dispatch_uid="links.refresh_on_deposits_changed")
        check_configuration()


def _deposits_changed(sender, address_ids=(), **kwargs) -> None:
    """chain recorded new facts (deposits, confirmations, orphaned blocks) for these
    addresses: rerun the one status function for their links."""
    from links.status import refresh_links_for_addresses

    if address_ids:
        refresh_links_for_addresses(address_ids)
        _refunds_check(address_ids)


def _refunds_check(address_ids) -> None:
    """Transfers to a customer's refund address (a watched row of no link) may be the
    merchant's refund: links.refunds marks it Sent."""
    from links.refunds import refunds_check

    refunds_check(address_ids)
