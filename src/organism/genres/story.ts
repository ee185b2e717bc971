// Stories in simple English. A story has a hero (a child or a named animal), a place, a weather, a coloured object,
// maybe a friend, and one emotional tone. The tone is carried by word choice in 3-4 tone sentences plus an ending,
// drawn from per-tone pools (every such sentence contains at least one TONE_WORDS[tone] word; nothing else in a story
// contains any tone word). Tone bits are on from the first tone sentence to the end of the story.
import { TONE_BIT, type TextBuilder } from '../concepts.js';
import type { Rng } from '../rng.js';
import {
  ANIMALS, BOY_NAMES, COLOURS, GIRL_NAMES, OBJECTS, PET_NAMES_HE, PET_NAMES_SHE, PLACES, TONES, WEATHERS, withArticle,
  type Tone, type Weather,
} from '../vocab.js';
import { fillString, literalText, type Slots } from './fill.js';

export interface StoryAttrs {
  genre: 'story';
  tone: Tone;
  /** The first name in the story (always the hero). */
  hero: string;
  /** The hero's animal, or null when the hero is a child (the animal named in the first sentence). */
  heroAnimal: string | null;
  /** Entities in order of first mention, without repeats. */
  names: string[];
  animals: string[];
  places: string[];
  objects: string[];
  colours: string[];
  weather: Weather;
}

export interface StorySpec {
  tone?: Tone;
  /** An animal for an animal hero, null for a child hero, undefined for random. */
  heroAnimal?: string | null;
  /** Fix the hero's name (a child's name when heroAnimal is null). */
  heroName?: string;
}

export const INTRO_ANIMAL = [
  'Once upon a time, there was a little {animal} named {N}.',
  'Once upon a time, there was {a_animal} called {N}.',
  'There once was {a_animal} named {N}.',
  '{N} was a young {animal} who lived near the {place}.',
  'In a {place} far away, there lived {a_animal} named {N}.',
  'Long ago, there lived a little {animal} called {N}.',
];
export const INTRO_CHILD = [
  'Once upon a time, there was a little {kind} named {N}.',
  'There once was a {kind} called {N}.',
  '{N} was a {kind} who lived near the {place}.',
  'Long ago, there lived a {kind} named {N}.',
  '{N} was a kind little {kind}.',
];
export const SETTING = [
  'One day, {N} went to the {place}.',
  'One morning, {he} walked to the {place}.',
  'Every day, {N} played at the {place}.',
  'One afternoon, {N} and {his} mother went to the {place}.',
  '{He} liked to visit the {place}.',
  'One evening, {N} went down to the {place}.',
];
export const WEATHER_T: Record<Weather, string[]> = {
  sunny: ['The sun was shining.', 'It was a warm and sunny day.', 'The sunshine was warm.'],
  rainy: ['It was raining.', 'It was a rainy day.', 'The rain fell all morning.'],
  windy: ['The wind was blowing.', 'It was a windy day.'],
  snowy: ['Snow was falling.', 'It was a cold and snowy day.', 'It was snowing.'],
  cloudy: ['The sky was full of clouds.', 'It was a cloudy day.'],
  foggy: ['There was fog everywhere.', 'It was a foggy day.'],
  stormy: ['A storm was coming.', 'It was a stormy day.', 'There was thunder in the sky.'],
};
export const OBJECT_T = [
  '{He} had {a_colour} {object}.',
  '{N} found {a_colour} {object} on the ground.',
  '{N} had a little {colour} {object}.',
  '{His} favourite thing was {a_colour} {object}.',
  '{N} carried {a_colour} {object} everywhere.',
  'In {his} hand, {he} held {a_colour} {object}.',
];
export const FRIEND_T = [
  '{N} had a friend named {F}.',
  '{His} best friend was {a_fanimal} named {F}.',
  'On the way, {he} met {a_fanimal} called {F}.',
  '{F} the {fanimal} came along too.',
];
/** Tone sentences. {adj} is a tone adjective; templates with {F} need a friend. */
export const TONE_T: Record<Tone, string[]> = {
  happy: [
    '{N} felt very {adj}.', '{He} smiled and laughed.', '{N} danced with {his} {object}.', '{He} giggled with joy.',
    'It was a wonderful day.', '{N} and {F} played and had so much fun.', '{He} sang a happy song.', '{N} hugged {F}.',
    'Everyone cheered for {N}.', '{N} grinned from ear to ear.', '{His} heart was full of joy.',
    '{He} was so glad to have {his} {object}.', '{N} laughed with delight.', '{F} smiled at {N}, and {he} felt {adj}.',
  ],
  sad: [
    '{N} felt very {adj}.', '{He} sat down and cried.', 'Tears ran down {his} face.', '{N} lost {his} {object}.',
    '{He} missed {his} old home.', '{N} sighed and looked at the ground.', 'Nobody came to play, and {he} felt alone.',
    '{His} {object} was broken, and {he} sobbed.', '{F} had gone away, and {N} was sad.', 'The day felt long and gloomy.',
    '{He} wept quietly.', '{N} was full of sorrow.', '{F} could not help, and {N} felt {adj}.',
  ],
  angry: [
    '{N} felt very {adj}.', '{He} stomped {his} feet.', '{N} shouted, "That is so unfair!"', '{He} frowned at {F}.',
    '{N} slammed the door.', '{He} kicked the {object} across the {place}.', '{N} yelled at everyone.',
    '{His} face was hot with rage.', '{N} growled and scowled.', '{He} was so annoyed that {he} huffed and puffed.',
    '{F} took {his} {object}, and {N} was furious.', '{N} snapped at {F}.', 'Nothing went right, and {N} felt {adj}.',
  ],
  scared: [
    '{N} felt very {adj}.', '{He} trembled and hid behind a rock.', 'It was dark and spooky.',
    '{N} heard a loud noise and gasped.', '{His} legs were shaking.', 'Creepy shadows moved on the wall.',
    '{N} screamed and ran.', '{He} shivered with fear.', '{F} was scared too.', '{N} froze and held {his} {object} tight.',
    'Something was hiding in the dark.', '{He} was so afraid that {he} could not move.', '{F} and {N} hid together.',
  ],
};
export const TONE_ADJ: Record<Tone, string[]> = {
  happy: ['happy', 'glad', 'cheerful', 'joyful', 'delighted', 'proud', 'excited'],
  sad: ['sad', 'lonely', 'unhappy', 'gloomy', 'miserable', 'upset', 'heartbroken'],
  angry: ['angry', 'mad', 'furious', 'grumpy', 'annoyed'],
  scared: ['scared', 'afraid', 'frightened', 'terrified', 'nervous'],
};
export const ENDING_T: Record<Tone, string[]> = {
  happy: [
    'It was the best day ever, and {N} was very happy.', '{N} went home with a big smile.',
    'From that day on, {N} was always cheerful.', 'That night, {N} fell asleep with a smile.',
  ],
  sad: [
    '{N} walked home alone, still crying.', 'That night, {N} cried until {he} fell asleep.',
    '{He} never found {his} {object} again, and {he} was sad for a long time.', 'It was a sad day for {N}.',
  ],
  angry: [
    '{N} stomped all the way home.', '{He} stayed grumpy for the rest of the day.',
    '{N} was still angry when night came.', 'It was a bad day, and {N} was mad at everyone.',
  ],
  scared: [
    '{N} ran home as fast as {he} could and hid under the bed.', '{He} was too scared to ever go back to the {place}.',
    'That night, {N} was too afraid to sleep.', '{N} was scared for a long time.',
  ],
};
export const NEUTRAL_T = [
  '{N} looked around.', 'Then {he} walked a little further.', 'After a while, {he} stood up.',
  '{N} thought about what to do.', 'Then {he} had a snack.', '{N} looked at the {object}.',
  'The {object} was very old.', '{He} sat down near the {place}.',
];
/** Weather that goes with a tone half of the time (a deliberate spurious correlate). */
const TONE_WEATHER: Record<Tone, Weather[]> = {
  happy: ['sunny'],
  sad: ['rainy', 'cloudy'],
  angry: ['windy', 'stormy'],
  scared: ['stormy', 'foggy'],
};

export const STORY_TEMPLATES: readonly string[] = [
  ...INTRO_ANIMAL, ...INTRO_CHILD, ...SETTING, ...Object.values(WEATHER_T).flat(), ...OBJECT_T, ...FRIEND_T,
  ...Object.values(TONE_T).flat(), ...Object.values(ENDING_T).flat(), ...NEUTRAL_T, 'The end.', 'girl boy',
  'he He his His him she She her Her',
];
export const STORY_WORDS = literalText(STORY_TEMPLATES);

const ALL_NAMES: readonly string[] = [...PET_NAMES_SHE, ...PET_NAMES_HE, ...GIRL_NAMES, ...BOY_NAMES];

const SLOT_CLASS: Record<string, 'names' | 'animals' | 'places' | 'objects' | 'colours'> = {
  N: 'names', F: 'names', animal: 'animals', a_animal: 'animals', fanimal: 'animals', a_fanimal: 'animals',
  place: 'places', object: 'objects', colour: 'colours', a_colour: 'colours',
};

/** Append one story (sentences separated by single spaces, no newline) and return its attributes. */
export function writeStory(b: TextBuilder, rng: Rng, spec: StorySpec = {}): StoryAttrs {
  const tone = spec.tone ?? rng.pick(TONES);
  const heroAnimal = spec.heroAnimal !== undefined ? spec.heroAnimal : rng.chance(0.55) ? rng.pick(ANIMALS) : null;
  const she = rng.chance(0.5);
  const hero = spec.heroName ?? (heroAnimal ? rng.pick(she ? PET_NAMES_SHE : PET_NAMES_HE) : rng.pick(she ? GIRL_NAMES : BOY_NAMES));
  const heroShe = spec.heroName ? (GIRL_NAMES as readonly string[]).includes(hero) || (PET_NAMES_SHE as readonly string[]).includes(hero) : she;
  const hasFriend = rng.chance(0.5);
  const friendAnimal = rng.pick(ANIMALS);
  let friend = rng.pick(ALL_NAMES);
  while (friend === hero) friend = rng.pick(ALL_NAMES);
  const place = rng.pick(PLACES);
  const object = rng.pick(OBJECTS);
  const colour = rng.pick(COLOURS);
  const weather = rng.chance(0.5) ? rng.pick(TONE_WEATHER[tone]) : rng.pick(WEATHERS);

  const slots: Slots = {
    N: hero, F: friend, animal: heroAnimal ?? '', a_animal: heroAnimal ? withArticle(heroAnimal) : '',
    fanimal: friendAnimal, a_fanimal: withArticle(friendAnimal), kind: heroShe ? 'girl' : 'boy', place, object, colour, a_colour: withArticle(colour),
    he: heroShe ? 'she' : 'he', He: heroShe ? 'She' : 'He', his: heroShe ? 'her' : 'his', His: heroShe ? 'Her' : 'His',
    him: heroShe ? 'her' : 'him', adj: '',
  };
  const attrs: StoryAttrs = {
    genre: 'story', tone, hero, heroAnimal, names: [], animals: [], places: [], objects: [], colours: [], weather,
  };
  const onSlot = (key: string, value: string) => {
    const cls = SLOT_CLASS[key];
    if (!cls) return;
    const v = key.startsWith('a_') ? value.replace(/^an? /, '') : value;
    if (!attrs[cls].includes(v)) attrs[cls].push(v);
  };
  let first = true;
  const say = (tpl: string, extra: Slots = {}) => {
    const s = fillString(tpl, { ...slots, ...extra }, onSlot);
    b.add(first ? s : ' ' + s);
    first = false;
  };

  say(rng.pick(heroAnimal ? INTRO_ANIMAL : INTRO_CHILD));
  say(rng.pick(SETTING));
  const weatherFirst = rng.chance(0.5);
  if (weatherFirst) say(rng.pick(WEATHER_T[weather]));
  say(rng.pick(OBJECT_T));
  if (!weatherFirst) say(rng.pick(WEATHER_T[weather]));
  if (hasFriend) say(rng.pick(FRIEND_T));

  const pool = TONE_T[tone].filter((t) => hasFriend || !t.includes('{F}'));
  const chosen = rng.sample(pool, rng.range(3, 4));
  const bitT = TONE_BIT[tone];
  b.on(bitT);
  let neutral = rng.range(0, 2);
  chosen.forEach((tpl, i) => {
    say(tpl, { adj: rng.pick(TONE_ADJ[tone]) });
    if (i < chosen.length - 1 && neutral > 0 && rng.chance(0.5)) {
      say(rng.pick(NEUTRAL_T));
      neutral--;
    }
  });
  say(rng.pick(ENDING_T[tone]));
  if (rng.chance(0.3)) say('The end.');
  b.off(bitT);
  return attrs;
}
