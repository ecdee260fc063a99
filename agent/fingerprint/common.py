"""Very common English words: k-grams made only of these are not fingerprinted.

"please let me know if you have any questions" is in half the County's memos and in countless
unrelated posts; fingerprinting it would make every such post look like a partial copy.
Changing the list changes the k-grams of both sides: rebuild the document indexes with it.
"""

COMMON_WORDS = frozenset(b"""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each even ever every few
for from further get gets getting got had has have having he her here hers herself him himself
his how i if in into is it its itself just know known let like made make many may me might more
most much must my myself need no nor not now of off on once one only or other our ours ourselves
out over own please put said same say see she should since so some still such take than thank
thanks that the their theirs them themselves then there these they this those through to too
under until up upon us very via want was way we well were what when where which while who whom
whose why will with within without would yes yet you your yours yourself yourselves
new today time year years day days week month thing things people part use used using back go
going come came first last next two three also hi hello dear regards sincerely best questions
question contact information info regarding re fw fwd cc subject note notes
""".split())
