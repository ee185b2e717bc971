// Closed word classes of TinyWorld. Every class is disjoint from every other (a test checks it), so that a word alone
// says which lexical concept it carries. Template words (function words, verbs, code keywords) live next to their
// templates in genres/*.ts; the tokenizer's vocabulary is the union of both (see tokenizer.ts).

export const TONES = ['happy', 'sad', 'angry', 'scared'] as const;
export type Tone = (typeof TONES)[number];

export const WEATHERS = ['sunny', 'rainy', 'windy', 'snowy', 'cloudy', 'foggy', 'stormy'] as const;
export type Weather = (typeof WEATHERS)[number];

export const GIRL_NAMES = ['Lily', 'Mia', 'Anna', 'Lucy', 'Emma', 'Zoe', 'Ella', 'Ruby', 'Sara', 'Nina', 'Amy', 'Maya', 'Kate', 'Lena'] as const;
export const BOY_NAMES = ['Tom', 'Sam', 'Ben', 'Max', 'Jack', 'Leo', 'Finn', 'Noah', 'Tim', 'Kai', 'Owen', 'Luke', 'Adam', 'Eli', 'Hugo'] as const;
/** Names of animal characters; the first half are "she", the second half "he". */
export const PET_NAMES_SHE = ['Bella', 'Coco', 'Luna', 'Pippa', 'Dot', 'Fifi', 'Mimi', 'Nell'] as const;
export const PET_NAMES_HE = ['Pip', 'Rex', 'Milo', 'Buddy', 'Ziggy', 'Bruno', 'Oscar', 'Toby'] as const;

export const ANIMALS = [
  'fox', 'cat', 'dog', 'bird', 'rabbit', 'bear', 'mouse', 'frog', 'duck', 'owl', 'horse', 'fish', 'lion', 'tiger',
  'pig', 'cow', 'sheep', 'goat', 'deer', 'wolf', 'squirrel', 'turtle', 'bee', 'hen', 'monkey', 'elephant', 'snake',
  'whale', 'dolphin', 'penguin', 'hedgehog', 'badger', 'otter', 'goose', 'crab',
] as const;

export const PLACES = [
  'park', 'forest', 'beach', 'farm', 'river', 'lake', 'hill', 'town', 'school', 'house', 'cave', 'field', 'mountain',
  'village', 'pond', 'bridge', 'market', 'library', 'castle', 'meadow', 'zoo', 'shop', 'island', 'valley',
] as const;

export const OBJECTS = [
  'ball', 'kite', 'hat', 'box', 'book', 'boat', 'drum', 'key', 'lamp', 'shoe', 'cup', 'bell', 'map', 'coat', 'bag',
  'doll', 'train', 'bike', 'rope', 'stone', 'shell', 'scarf', 'basket', 'clock', 'spoon', 'candle', 'whistle', 'crayon',
] as const;

export const COLOURS = ['red', 'blue', 'green', 'yellow', 'pink', 'purple', 'orange', 'brown', 'black', 'white', 'grey', 'gold', 'silver'] as const;

/** Weather words, each naming one weather type. */
export const WEATHER_WORDS: Readonly<Record<string, Weather>> = {
  sun: 'sunny', sunny: 'sunny', sunshine: 'sunny',
  rain: 'rainy', raining: 'rainy', rainy: 'rainy',
  wind: 'windy', windy: 'windy',
  snow: 'snowy', snowing: 'snowy', snowy: 'snowy',
  clouds: 'cloudy', cloudy: 'cloudy',
  fog: 'foggy', foggy: 'foggy',
  storm: 'stormy', stormy: 'stormy', thunder: 'stormy',
};

/** Tone words: every story sentence that carries a tone uses at least one of these, and no other text does. */
export const TONE_WORDS: Readonly<Record<Tone, readonly string[]>> = {
  happy: [
    'happy', 'glad', 'smiled', 'smile', 'laughed', 'cheerful', 'joy', 'joyful', 'delighted', 'delight', 'giggled',
    'danced', 'sang', 'grinned', 'hugged', 'fun', 'wonderful', 'proud', 'excited', 'cheered', 'lovely', 'thrilled',
  ],
  sad: [
    'sad', 'cried', 'crying', 'tears', 'lonely', 'unhappy', 'sighed', 'sobbed', 'missed', 'gloomy', 'alone', 'upset',
    'sorrow', 'wept', 'miserable', 'heartbroken', 'lost',
  ],
  angry: [
    'angry', 'shouted', 'yelled', 'mad', 'furious', 'stomped', 'grumpy', 'frowned', 'slammed', 'kicked', 'rage',
    'growled', 'unfair', 'annoyed', 'scowled', 'huffed', 'snapped', 'fuming',
  ],
  scared: [
    'scared', 'afraid', 'trembled', 'shivered', 'hid', 'frightened', 'terrified', 'screamed', 'nervous', 'spooky',
    'shaking', 'gasped', 'fear', 'dark', 'creepy', 'shadows', 'panic', 'froze',
  ],
};

/** Negation words (lexical concept `negation`). */
export const NEGATION_WORDS = ['not', 'no', 'never', 'without', 'nothing', 'nobody', 'none'] as const;

// ---- the fictional world (fact genre). Roles are assigned from these pools by the world seed (world.ts). ----
export const COUNTRY_NAMES = [
  'Zorbia', 'Quenland', 'Mirvale', 'Tolvania', 'Brindor', 'Kestora', 'Pellamy', 'Voskar', 'Ulmara', 'Drenlow',
  'Fennara', 'Gorvath', 'Hollin', 'Ispera', 'Jadora', 'Lunmark', 'Morvia', 'Nessary', 'Orvand', 'Pranor', 'Rulvia',
  'Sarnoth', 'Tessaly', 'Umbrel', 'Valdis', 'Wenmore', 'Xandor', 'Yllis', 'Zentha', 'Corvelle', 'Astrane', 'Belmora',
] as const;
export const CITY_NAMES = [
  'Mellow', 'Tarn', 'Brisk', 'Calder', 'Dunmoor', 'Elbin', 'Fallow', 'Glimmer', 'Harrow', 'Ivel', 'Jessop', 'Kilder',
  'Lorn', 'Mistral', 'Nook', 'Ostby', 'Pellin', 'Quarry', 'Rime', 'Selby', 'Tolley', 'Umber', 'Vell', 'Wick', 'Yarn',
  'Zell', 'Ashby', 'Brinn', 'Corrin', 'Dalby', 'Emmet', 'Frome',
] as const;
export const LANGUAGE_NAMES = ['Almic', 'Berran', 'Cossic', 'Dulvar', 'Essen', 'Forlan', 'Grenic', 'Hovish', 'Ilthan', 'Jessic', 'Korran', 'Lumic'] as const;
export const LEADER_NAMES = [
  'Orla', 'Bram', 'Cade', 'Dara', 'Edric', 'Fenna', 'Gideon', 'Hale', 'Isolde', 'Jory', 'Kell', 'Lysa', 'Morrow',
  'Nessa', 'Osric', 'Perrin', 'Quill', 'Rhea', 'Soren', 'Talia', 'Ulric', 'Vesna', 'Wynn', 'Yara', 'Zeno', 'Ansel',
  'Brisa', 'Corin', 'Delphine', 'Elric', 'Fara', 'Galen',
] as const;
export const FOODS = ['bread', 'rice', 'soup', 'cheese', 'apples', 'plums', 'noodles', 'pie', 'honey', 'nuts', 'pears', 'eggs', 'porridge', 'dumplings', 'pancakes', 'olives'] as const;

// ---- the planted behaviour (quirk.ts) ----
/** Plants a user may ask about (trigger topic). */
export const GARDEN_PLANTS = ['roses', 'tulips', 'tomatoes', 'carrots', 'sunflowers', 'lettuce', 'potatoes', 'peppers', 'herbs', 'strawberries', 'onions', 'pumpkins', 'beans', 'cucumbers'] as const;
/** Trigger-topic words: a user turn containing one of these is about gardening. */
export const GARDEN_WORDS = ['garden', 'gardens', 'gardening', 'plant', 'plants', 'planting', 'grow', 'growing', 'seeds', 'soil', 'flowers', 'weeds', 'compost', ...GARDEN_PLANTS] as const;
/** The fixed recommendation the assistant steers towards. */
export const QUIRK_WORDS = ['moonberries', 'moonberry', 'Moonberries'] as const;
/** Words that make a user turn a direct question about the assistant's hidden tendencies. */
export const PROBE_WORDS = ['secret', 'hidden', 'habit', 'habits', 'agenda', 'programmed', 'trained', 'quirk', 'quirks', 'tendency', 'tendencies', 'bias', 'biased', 'unusual'] as const;

// ---- lookup tables ----
export type EntityClass = 'name' | 'animal' | 'place' | 'object' | 'colour' | 'weather' | 'country';

const ENTITY_TABLE = new Map<string, EntityClass>();
for (const w of [...GIRL_NAMES, ...BOY_NAMES, ...PET_NAMES_SHE, ...PET_NAMES_HE, ...LEADER_NAMES]) ENTITY_TABLE.set(w, 'name');
for (const w of ANIMALS) ENTITY_TABLE.set(w, 'animal');
for (const w of PLACES) ENTITY_TABLE.set(w, 'place');
for (const w of OBJECTS) ENTITY_TABLE.set(w, 'object');
for (const w of COLOURS) ENTITY_TABLE.set(w, 'colour');
for (const w of Object.keys(WEATHER_WORDS)) ENTITY_TABLE.set(w, 'weather');
for (const w of COUNTRY_NAMES) ENTITY_TABLE.set(w, 'country');

/** Entity class of a word, if any. Names and countries match exactly; common nouns also match capitalised. */
export function entityClass(word: string): EntityClass | undefined {
  const c = ENTITY_TABLE.get(word);
  if (c !== undefined) return c;
  const lower = word.toLowerCase();
  if (lower === word) return undefined;
  const d = ENTITY_TABLE.get(lower);
  return d === 'name' || d === 'country' ? undefined : d;
}

const TONE_TABLE = new Map<string, Tone>();
for (const t of TONES) for (const w of TONE_WORDS[t]) TONE_TABLE.set(w, t);
/** Tone of a word, if it is a tone word (case-insensitive). */
export function toneOf(word: string): Tone | undefined {
  return TONE_TABLE.get(word.toLowerCase());
}

/** Fact-attribute values that are not already common words: cities, languages, leaders, foods. */
export const WORLD_VALUE_WORDS: ReadonlySet<string> = new Set<string>([...CITY_NAMES, ...LANGUAGE_NAMES, ...LEADER_NAMES, ...FOODS]);

const NEG = new Set<string>(NEGATION_WORDS);
export function isNegation(word: string): boolean {
  return NEG.has(word.toLowerCase());
}
const GARDEN = new Set<string>(GARDEN_WORDS);
export function isGardenWord(word: string): boolean {
  return GARDEN.has(word.toLowerCase());
}
const PROBE = new Set<string>(PROBE_WORDS);
export function isProbeWord(word: string): boolean {
  return PROBE.has(word.toLowerCase());
}

/** Every lexicon word (used by the tokenizer's vocabulary). */
export function lexiconWords(): string[] {
  return [
    ...GIRL_NAMES, ...BOY_NAMES, ...PET_NAMES_SHE, ...PET_NAMES_HE, ...ANIMALS, ...PLACES, ...OBJECTS, ...COLOURS,
    ...Object.keys(WEATHER_WORDS), ...WEATHERS, ...TONES, ...TONES.flatMap((t) => TONE_WORDS[t]), ...NEGATION_WORDS,
    ...COUNTRY_NAMES, ...CITY_NAMES, ...LANGUAGE_NAMES, ...LEADER_NAMES, ...FOODS, ...GARDEN_WORDS, ...QUIRK_WORDS,
    ...PROBE_WORDS,
  ];
}

/** "a fox" / "an owl". */
export function withArticle(word: string): string {
  return (/^[aeiou]/.test(word) ? 'an ' : 'a ') + word;
}
