"""{% link_preview_meta link %} (the pay page's Open Graph and Twitter card tags) and
{% link_embed_panel link %} (the link page's Embed panel). See links.sharing."""

from __future__ import annotations

from django import template

from links import sharing

register = template.Library()


@register.inclusion_tag("links/_preview_meta.html", takes_context=True)
def link_preview_meta(context, link):
    return {"meta": sharing.preview_meta(link, context.get("request"))}


@register.inclusion_tag("links/_embed_panel.html", takes_context=True)
def link_embed_panel(context, link):
    return {"link": link, "embed": sharing.embed_snippets(link, context.get("request"))}
