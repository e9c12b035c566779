"""``abiguard propose``: the stable-API proposal and the consumer patches, drafted from what
abiguard knows and checked by the real toolchain in the tests.

* :mod:`.demand` — the unstable symbols of plans and census stores, with their use;
* :mod:`.derive` — prototypes for the stable library, from the unstable declarations, the
  stable header's conventions and the remedies knowledge;
* :mod:`.emit` — the header fragment, the version-script node, the forwarding skeleton;
* :mod:`.unifdef` — retiring ``#if`` branches below a minimum library version;
* :mod:`.patches` — the consumer patches (retire, replace) as unified diffs, checked with
  GNU ``patch``;
* :mod:`.build` — putting it together (proposal.md is rendered by
  :mod:`abiguard.render.markdown.propose`);
* :mod:`.result` — the records (JSON via :func:`abiguard.jsonform.to_json`).
"""
