import type { AgeRating } from "@marquee/contracts";

/**
 * The catalogue's genre vocabulary and what each genre implies for generated metadata:
 * how common it is, runtimes, age ratings, words for titles and synopses, poster palette and
 * composition. Genre names are what the storefront shows and what features key on.
 */
export const GENRES = [
  "Drama",
  "Comedy",
  "Thriller",
  "Action",
  "Romance",
  "Crime",
  "Horror",
  "Documentary",
  "Adventure",
  "Sci-Fi",
  "Family",
  "Mystery",
  "Fantasy",
  "Animation",
  "Music",
  "War",
  "History",
  "Western",
] as const;
export type Genre = (typeof GENRES)[number];

export const GENRE_INDEX: ReadonlyMap<string, number> = new Map(GENRES.map((g, i) => [g, i]));

export type PosterStyle = "noir" | "horror" | "cosmic" | "burst" | "soft" | "playful" | "landscape" | "bands";

/** Colours of a poster: a two-stop background, two accents, and the ink for the text. */
export interface Palette {
  readonly sky: readonly [string, string];
  readonly accent: string;
  readonly accent2: string;
  readonly ink: string;
}

export interface GenreProfile {
  /** Relative chance of being a title's primary genre. */
  readonly weight: number;
  /** Genres that tend to appear beside this one, with relative weights. */
  readonly companions: Readonly<Partial<Record<Genre, number>>>;
  /** Runtime in minutes: mean and standard deviation. */
  readonly runtime: readonly [number, number];
  /** Relative weights of G, PG, PG-13, R, NC-17. */
  readonly ratings: readonly [number, number, number, number, number];
  /** "a thriller", "a western": the genre as a noun phrase in a synopsis. */
  readonly noun: string;
  /** The genre as an adjective: "a suspenseful drama". */
  readonly adjective: string;
  readonly tones: readonly string[];
  /** Who the story follows; the generic occupations are used when absent. */
  readonly heroes?: readonly string[];
  readonly places?: readonly string[];
  /** What happens to the hero: "discovers a ledger that should not exist". */
  readonly hooks: readonly string[];
  /** What the hero must do; {pp} is the possessive pronoun, {po} the object pronoun. */
  readonly goals: readonly string[];
  readonly titleNouns: readonly string[];
  readonly titleAdjectives: readonly string[];
  readonly palettes: readonly Palette[];
  readonly poster: PosterStyle;
}

export const AGE_RATING_ORDER: readonly AgeRating[] = ["G", "PG", "PG-13", "R", "NC-17"];

export const GENRE_PROFILES: Readonly<Record<Genre, GenreProfile>> = {
  Drama: {
    weight: 24,
    companions: {
      Romance: 3,
      Crime: 2,
      Comedy: 2,
      History: 1.5,
      Thriller: 1.5,
      War: 1,
      Music: 1,
      Mystery: 1,
      Family: 0.6,
    },
    runtime: [118, 18],
    ratings: [1, 10, 42, 46, 1],
    noun: "drama",
    adjective: "dramatic",
    tones: ["quietly devastating", "tender", "unflinching", "luminous", "intimate", "hard-won", "bittersweet"],
    hooks: [
      "inherits a failing family business",
      "receives a letter from a brother presumed dead",
      "is asked to testify against an old friend",
      "returns home for a funeral after twenty years away",
      "loses everything in a single winter",
      "takes in a teenager nobody else will house",
    ],
    goals: [
      "decide what {pp} family is still owed",
      "face the choice that split {pp} family apart",
      "learn to ask for help before it is too late",
      "rebuild a life from what is left",
      "tell the truth, whatever it costs {po}",
    ],
    titleNouns: [
      "Orchard",
      "Harbor",
      "Season",
      "House",
      "Inheritance",
      "Threshold",
      "Weather",
      "Tide",
      "Mercy",
      "Kitchen",
    ],
    titleAdjectives: ["Quiet", "Long", "Borrowed", "Small", "Second", "Gentle", "Unfinished", "Distant"],
    palettes: [
      { sky: ["#2b3a55", "#ce7e5a"], accent: "#f2d0a4", accent2: "#8c5e58", ink: "#fff8ef" },
      { sky: ["#1f2d2b", "#6f8f72"], accent: "#e8dcb5", accent2: "#b5654a", ink: "#f7f3e8" },
    ],
    poster: "soft",
  },
  Comedy: {
    weight: 17,
    companions: { Romance: 3, Drama: 2, Family: 1.5, Crime: 0.8, Adventure: 0.8, Music: 0.6, Animation: 0.5 },
    runtime: [100, 12],
    ratings: [2, 15, 45, 38, 0],
    noun: "comedy",
    adjective: "comic",
    tones: ["warm-hearted", "razor-sharp", "offbeat", "riotous", "deadpan", "big-hearted", "gleefully chaotic"],
    hooks: [
      "accidentally books the same venue for two weddings",
      "fakes an engagement to win a baking contest",
      "swaps apartments with a stranger for a month",
      "is mistaken for a famous motivational speaker",
      "wakes up as the manager of a failing minor-league team",
      "promises to host the family reunion in a house {p} does not own",
    ],
    goals: [
      "keep the lie going until Sunday",
      "win back {pp} dignity one disaster at a time",
      "survive one very long weekend",
      "convince everyone that this was the plan all along",
      "make it to the ceremony before the cake does",
    ],
    titleNouns: ["Weekend", "Wedding", "Roommates", "Neighbors", "Fiasco", "Reunion", "Honeymoon", "Getaway", "Hiccup"],
    titleAdjectives: ["Perfect", "Terrible", "Unlikely", "Lucky", "Accidental", "Ridiculous", "Surprise"],
    palettes: [
      { sky: ["#ffd23f", "#ff8c42"], accent: "#3bceac", accent2: "#ee4266", ink: "#2d1e2f" },
      { sky: ["#8ad4ff", "#fef6c9"], accent: "#ff5e5b", accent2: "#00a6a6", ink: "#1b1b3a" },
    ],
    poster: "playful",
  },
  Thriller: {
    weight: 9,
    companions: { Crime: 3, Mystery: 2.5, Drama: 2, Action: 2, Horror: 1, "Sci-Fi": 0.8 },
    runtime: [110, 12],
    ratings: [0, 2, 40, 57, 1],
    noun: "thriller",
    adjective: "suspenseful",
    tones: ["taut", "slow-burning", "relentless", "nerve-shredding", "paranoid", "tightly wound"],
    hooks: [
      "overhears a phone call that was never meant for {po}",
      "finds a stranger's photographs of {pp} own house",
      "is handed the wrong briefcase at a train station",
      "witnesses a murder that the police insist never happened",
      "discovers that {pp} new employer does not officially exist",
    ],
    goals: [
      "stay one step ahead of people who know {pp} every move",
      "find out who {p} can trust before sunrise",
      "expose the conspiracy without becoming its next victim",
      "get {pp} daughter across the border by midnight",
    ],
    titleNouns: ["Witness", "Protocol", "Signal", "Asset", "Pursuit", "Blind Spot", "Crossing", "Dead Drop", "Vantage"],
    titleAdjectives: ["Silent", "Hidden", "Final", "Cold", "Quiet", "Narrow", "Blind"],
    palettes: [
      { sky: ["#0b0c10", "#1f2833"], accent: "#c5c6c7", accent2: "#66fcf1", ink: "#f0f0f0" },
      { sky: ["#101820", "#3a1f1f"], accent: "#e94f37", accent2: "#f6f7eb", ink: "#f6f7eb" },
    ],
    poster: "noir",
  },
  Action: {
    weight: 9,
    companions: { Thriller: 2.5, Adventure: 2.5, Crime: 2, "Sci-Fi": 1.5, Comedy: 1, War: 0.8, Fantasy: 0.6 },
    runtime: [115, 14],
    ratings: [0, 3, 55, 42, 0],
    noun: "action film",
    adjective: "action-packed",
    tones: ["explosive", "breakneck", "hard-hitting", "adrenaline-fuelled", "high-octane", "muscular"],
    hooks: [
      "is framed for a heist {p} tried to stop",
      "is pulled out of retirement for one last extraction",
      "is trapped in a skyscraper taken over by mercenaries",
      "discovers that {pp} partner sold out the whole unit",
      "becomes the only witness a cartel needs silenced",
    ],
    goals: [
      "fight {pp} way across a city that wants {po} dead",
      "bring the team home before the deadline",
      "clear {pp} name with nothing but a stolen car and a grudge",
      "stop the shipment before it reaches the harbor",
    ],
    titleNouns: [
      "Breakpoint",
      "Vendetta",
      "Countdown",
      "Ironside",
      "Strike",
      "Overdrive",
      "Payback",
      "Firewall",
      "Extraction",
    ],
    titleAdjectives: ["Maximum", "Rogue", "Critical", "Lethal", "Burning", "Total", "Rapid"],
    palettes: [
      { sky: ["#1a1a1d", "#6f1d1b"], accent: "#ff9f1c", accent2: "#ffbf69", ink: "#ffffff" },
      { sky: ["#03071e", "#370617"], accent: "#f48c06", accent2: "#dc2f02", ink: "#fefae0" },
    ],
    poster: "burst",
  },
  Romance: {
    weight: 5,
    companions: { Drama: 3, Comedy: 3, Music: 0.8, History: 0.5, Fantasy: 0.4 },
    runtime: [108, 12],
    ratings: [2, 15, 50, 32, 1],
    noun: "romance",
    adjective: "romantic",
    tones: ["swooning", "achingly tender", "sun-drenched", "charming", "wistful", "slow-burn"],
    hooks: [
      "falls for the architect hired to demolish {pp} childhood home",
      "finds a decades-old love letter hidden in a library book",
      "is seated beside the same stranger on five consecutive flights",
      "agrees to a month-long pretend relationship",
      "meets {pp} first love again at a wedding in Lisbon",
    ],
    goals: [
      "decide whether some chances only come once",
      "choose between the life {p} planned and the one {p} wants",
      "find out whether a summer can last",
      "risk {pp} heart one more time",
    ],
    titleNouns: ["Letters", "Summer", "Promise", "Postcard", "Waltz", "Harbor", "Proposal", "Serenade", "Balcony"],
    titleAdjectives: ["Sweet", "Endless", "Secret", "Golden", "Last", "Tender", "Wild"],
    palettes: [
      { sky: ["#ffafcc", "#cdb4db"], accent: "#ffffff", accent2: "#a2d2ff", ink: "#4a2040" },
      { sky: ["#f4a261", "#e76f51"], accent: "#fefae0", accent2: "#e9c46a", ink: "#3d1e1e" },
    ],
    poster: "soft",
  },
  Crime: {
    weight: 6,
    companions: { Drama: 3, Thriller: 3, Mystery: 1.5, Action: 1.5, Comedy: 0.8 },
    runtime: [115, 15],
    ratings: [0, 2, 28, 68, 2],
    noun: "crime story",
    adjective: "crime",
    tones: ["gritty", "hard-boiled", "sprawling", "cynical", "rain-soaked", "brutal"],
    hooks: [
      "finds a ledger that should not exist",
      "agrees to launder money for a harbor-side syndicate",
      "is assigned a cold case {pp} own father buried",
      "plans one last score with a crew {p} no longer trusts",
      "takes the fall for a robbery {p} did not commit",
    ],
    goals: [
      "decide how far {p} will go to keep {pp} family out of it",
      "outlast the people who own the precinct",
      "get out before the crew turns on itself",
      "follow the money all the way to the top",
    ],
    titleNouns: ["Ledger", "Alibi", "Racket", "Score", "Precinct", "Syndicate", "Confession", "Getaway", "Lineup"],
    titleAdjectives: ["Dirty", "Crooked", "Rotten", "Hollow", "Bad", "Black", "Stolen"],
    palettes: [
      { sky: ["#0d1b2a", "#1b263b"], accent: "#e0e1dd", accent2: "#c1121f", ink: "#e0e1dd" },
      { sky: ["#1c1c1c", "#4a4e69"], accent: "#f2e9e4", accent2: "#c9ada7", ink: "#f2e9e4" },
    ],
    poster: "noir",
  },
  Horror: {
    weight: 7,
    companions: { Thriller: 3, Mystery: 2, Comedy: 0.8, "Sci-Fi": 0.8, Fantasy: 0.6, Drama: 0.6 },
    runtime: [95, 10],
    ratings: [0, 1, 30, 66, 3],
    noun: "horror film",
    adjective: "horror",
    tones: ["deeply unsettling", "blood-curdling", "dread-soaked", "atmospheric", "nightmarish", "claustrophobic"],
    places: ["a farmhouse outside Greywater", "the village of Hollin Marsh", "an abandoned sanatorium", "Brackwater"],
    hooks: [
      "moves into a house where the clocks all stop at 3:12",
      "hears a child singing inside the walls",
      "finds a door in the cellar that was bricked up from the inside",
      "receives videotapes of {pp} own sleeping body",
      "unearths a hymn book that rewrites itself every night",
    ],
    goals: [
      "learn what the house wants before it takes {pp} family",
      "survive until the thaw",
      "break a curse older than the town itself",
      "get out before the lights go out for good",
    ],
    titleNouns: ["Hollow", "Whisper", "Cellar", "Hush", "Hymn", "Veil", "Rot", "Lullaby", "Pale"],
    titleAdjectives: ["Crawling", "Sleepless", "Wretched", "Drowned", "Pale", "Sunken", "Forsaken"],
    palettes: [
      { sky: ["#050505", "#2b0a0a"], accent: "#e5e5e5", accent2: "#8a0303", ink: "#f2f2f2" },
      { sky: ["#0a0f0d", "#1d3129"], accent: "#d8e2dc", accent2: "#6a994e", ink: "#ecf39e" },
    ],
    poster: "horror",
  },
  Documentary: {
    weight: 6,
    companions: { Music: 2, History: 2, War: 0.8, Drama: 0.3 },
    runtime: [95, 15],
    ratings: [10, 35, 35, 20, 0],
    noun: "documentary",
    adjective: "documentary",
    tones: ["eye-opening", "intimate", "urgent", "patient", "revealing", "clear-eyed"],
    hooks: [],
    goals: [],
    titleNouns: ["Saltwater", "Undercurrent", "Groundwork", "Field Notes", "Signal", "Threadbare", "Common Ground"],
    titleAdjectives: ["Inside", "After", "Beyond", "Behind", "Under"],
    palettes: [
      { sky: ["#e9ecef", "#adb5bd"], accent: "#212529", accent2: "#e63946", ink: "#212529" },
      { sky: ["#f1faee", "#a8dadc"], accent: "#1d3557", accent2: "#e63946", ink: "#1d3557" },
    ],
    poster: "bands",
  },
  Adventure: {
    weight: 3,
    companions: { Action: 3, Fantasy: 2, Family: 2, Comedy: 1, "Sci-Fi": 1, Animation: 1, Drama: 0.8 },
    runtime: [118, 15],
    ratings: [3, 35, 50, 12, 0],
    noun: "adventure",
    adjective: "swashbuckling",
    tones: ["sweeping", "rollicking", "globe-trotting", "old-fashioned", "exhilarating"],
    heroes: ["a disgraced cartographer", "a river-boat pilot", "a junior museum curator", "a retired treasure diver"],
    hooks: [
      "inherits half of a map to a city that is not on any chart",
      "is shipwrecked on an island that moves",
      "wins a race across three continents nobody else survived",
      "follows a stolen relic into the jungle",
    ],
    goals: [
      "reach the summit before {pp} rivals",
      "bring the expedition home in one piece",
      "find the lost city before the rainy season closes the pass",
    ],
    titleNouns: ["Expedition", "Compass", "Voyage", "Frontier", "Crossing", "Summit", "Treasure", "Horizon"],
    titleAdjectives: ["Lost", "Great", "Impossible", "Uncharted", "Far", "Wild"],
    palettes: [
      { sky: ["#219ebc", "#8ecae6"], accent: "#ffb703", accent2: "#fb8500", ink: "#023047" },
      { sky: ["#264653", "#2a9d8f"], accent: "#e9c46a", accent2: "#f4a261", ink: "#fdfcdc" },
    ],
    poster: "landscape",
  },
  "Sci-Fi": {
    weight: 3.5,
    companions: { Action: 2, Thriller: 2, Adventure: 1.5, Drama: 1.5, Horror: 1, Mystery: 0.8 },
    runtime: [120, 16],
    ratings: [0, 12, 58, 30, 0],
    noun: "science-fiction film",
    adjective: "sci-fi",
    tones: ["mind-bending", "cerebral", "visionary", "haunting", "dazzling", "eerie"],
    heroes: ["a salvage pilot", "a ship's engineer", "a xenolinguist", "a colony medic", "a maintenance android"],
    places: ["the orbital colony of Tessaly", "Ceres Station Nine", "a generation ship", "a drowned future Rotterdam"],
    hooks: [
      "picks up a distress signal sent forty years from now",
      "wakes from cryosleep to find the crew gone",
      "discovers that the colony's sun is artificial",
      "is contacted by a copy of {po}self",
    ],
    goals: [
      "decide what humanity is willing to lose to survive",
      "repair the array before the window closes",
      "find out which memories are {pp} own",
      "get the message home across a dying network",
    ],
    titleNouns: ["Orbit", "Parallax", "Meridian", "Array", "Halcyon", "Vector", "Drift", "Singularity", "Relay"],
    titleAdjectives: ["Dark", "Distant", "Infinite", "Electric", "Silent", "Zero"],
    palettes: [
      { sky: ["#03045e", "#0077b6"], accent: "#90e0ef", accent2: "#ff6d00", ink: "#caf0f8" },
      { sky: ["#10002b", "#3c096c"], accent: "#e0aaff", accent2: "#00f5d4", ink: "#f3e8ff" },
    ],
    poster: "cosmic",
  },
  Family: {
    weight: 2.5,
    companions: { Comedy: 3, Animation: 2.5, Adventure: 2, Fantasy: 1.5, Drama: 0.8, Music: 0.5 },
    runtime: [96, 10],
    ratings: [55, 43, 2, 0, 0],
    noun: "family film",
    adjective: "family",
    tones: ["joyful", "heartwarming", "zany", "gentle", "delightful"],
    heroes: ["an eleven-year-old inventor", "a shy middle-schooler", "a stubborn grandmother", "a runaway puppy"],
    hooks: [
      "builds a robot from the school's lost-and-found",
      "discovers that the new neighbors are retired superheroes",
      "finds a baby dragon in the garden shed",
      "is left in charge of the family bakery for a week",
    ],
    goals: [
      "save the town fair before the mayor cancels it",
      "keep the secret from {pp} parents",
      "bring the whole family together for once",
    ],
    titleNouns: ["Treehouse", "Balloon", "Pickle", "Puffin", "Robot", "Sleepover", "Snow Day", "Marching Band"],
    titleAdjectives: ["Big", "Little", "Amazing", "Magnificent", "Mighty", "Super"],
    palettes: [
      { sky: ["#a0e7e5", "#b4f8c8"], accent: "#ffaebc", accent2: "#fbe7c6", ink: "#1b3a4b" },
      { sky: ["#ffe66d", "#ff6b6b"], accent: "#4ecdc4", accent2: "#f7fff7", ink: "#292f36" },
    ],
    poster: "playful",
  },
  Mystery: {
    weight: 2,
    companions: { Thriller: 3, Crime: 3, Drama: 1.5, Horror: 1, Comedy: 0.6 },
    runtime: [110, 12],
    ratings: [0, 8, 50, 42, 0],
    noun: "mystery",
    adjective: "mysterious",
    tones: ["twisty", "elegant", "fog-bound", "puzzling", "deliciously devious"],
    heroes: ["a retired detective", "a crossword setter", "a small-town pharmacist", "a hotel concierge"],
    hooks: [
      "is the last person to see a famous novelist alive",
      "finds a body in a locked lighthouse",
      "receives a weekly postcard from a woman who died in 1987",
      "notices that every guest at the reunion is lying",
    ],
    goals: [
      "solve the case before the ferry returns",
      "find the one clue everyone else overlooked",
      "unmask a killer hiding in plain sight",
    ],
    titleNouns: ["Riddle", "Clue", "Lighthouse", "Vanishing", "Keyhole", "Cipher", "Portrait"],
    titleAdjectives: ["Curious", "Missing", "Locked", "Seventh", "Unseen", "Crooked"],
    palettes: [
      { sky: ["#2f3e46", "#354f52"], accent: "#cad2c5", accent2: "#84a98c", ink: "#f1f5f2" },
      { sky: ["#22223b", "#4a4e69"], accent: "#f2e9e4", accent2: "#c9ada7", ink: "#f2e9e4" },
    ],
    poster: "noir",
  },
  Fantasy: {
    weight: 2,
    companions: { Adventure: 3, Family: 1.5, Action: 1.5, Romance: 1, Drama: 1, Animation: 1, Horror: 0.5 },
    runtime: [122, 18],
    ratings: [4, 30, 50, 16, 0],
    noun: "fantasy",
    adjective: "fantastical",
    tones: ["enchanting", "epic", "spellbinding", "mythic", "lush", "wondrous"],
    heroes: ["an apprentice mapmaker", "a hedge witch", "an exiled heir", "a blacksmith's child"],
    places: ["the kingdom of Evermere", "the Thornwood", "the salt cities of Varn", "the last free valley"],
    hooks: [
      "steals a crown that whispers back",
      "is chosen by a dying dragon",
      "breaks an oath sworn to the forest",
      "discovers a door between two winters",
    ],
    goals: [
      "unite the quarrelling clans before the long night",
      "return the stolen heart of the mountain",
      "claim the throne without becoming a tyrant",
    ],
    titleNouns: ["Crown", "Thorn", "Ember", "Kingdom", "Wyrm", "Spindle", "Oath", "Sorceress", "Hollowmere"],
    titleAdjectives: ["Iron", "Silver", "Forgotten", "Ember", "Sleeping", "Seventh"],
    palettes: [
      { sky: ["#240046", "#5a189a"], accent: "#ffd166", accent2: "#06d6a0", ink: "#fff3b0" },
      { sky: ["#132a13", "#31572c"], accent: "#ecf39e", accent2: "#90a955", ink: "#f6fff0" },
    ],
    poster: "landscape",
  },
  Animation: {
    weight: 3,
    companions: { Family: 4, Comedy: 3, Adventure: 2.5, Fantasy: 2, Music: 0.8, "Sci-Fi": 0.6 },
    runtime: [92, 10],
    ratings: [45, 50, 5, 0, 0],
    noun: "animated feature",
    adjective: "animated",
    tones: ["dazzling", "hand-drawn", "whimsical", "joyous", "inventive"],
    heroes: ["a timid hedgehog", "a clockwork robot", "a young cloud", "a lighthouse mouse", "an anxious dragon"],
    hooks: [
      "gets swept out to sea on a paper boat",
      "is accidentally shipped to the moon",
      "loses the map to the great migration",
      "befriends the monster under the city",
    ],
    goals: [
      "find {pp} way home before winter",
      "prove that small things can be brave",
      "save the forest festival with a little help from {pp} friends",
    ],
    titleNouns: ["Puffin", "Moonbeam", "Lantern", "Pebble", "Acorn", "Whirligig", "Marmalade", "Pocket"],
    titleAdjectives: ["Little", "Brave", "Tiny", "Marvelous", "Wobbly", "Sleepy"],
    palettes: [
      { sky: ["#cdb4db", "#bde0fe"], accent: "#ffc8dd", accent2: "#ffafcc", ink: "#22223b" },
      { sky: ["#80ffdb", "#5390d9"], accent: "#ffd60a", accent2: "#ff70a6", ink: "#1b1b3a" },
    ],
    poster: "playful",
  },
  Music: {
    weight: 1.2,
    companions: { Drama: 3, Documentary: 2, Romance: 1.5, Comedy: 1.5, Family: 0.5 },
    runtime: [110, 14],
    ratings: [8, 30, 42, 20, 0],
    noun: "music film",
    adjective: "musical",
    tones: ["electrifying", "soulful", "toe-tapping", "raw", "ecstatic"],
    heroes: ["a session guitarist", "a church-choir soprano", "an aging punk drummer", "a wedding-band singer"],
    hooks: [
      "gets one shot at the audition that ruined {pp} mother",
      "reunites a band that has not spoken in fifteen years",
      "writes a song that goes viral for all the wrong reasons",
    ],
    goals: [
      "play the one show that matters",
      "find {pp} own voice before the tour ends",
      "keep the band together long enough to finish the record",
    ],
    titleNouns: ["Encore", "B-Side", "Backbeat", "Falsetto", "Feedback", "Setlist", "Chorus", "Overture"],
    titleAdjectives: ["Loud", "Electric", "Last", "Perfect", "Broken"],
    palettes: [
      { sky: ["#240046", "#ff006e"], accent: "#ffbe0b", accent2: "#3a86ff", ink: "#ffffff" },
      { sky: ["#000000", "#3d348b"], accent: "#f7b801", accent2: "#f35b04", ink: "#ffffff" },
    ],
    poster: "burst",
  },
  War: {
    weight: 1,
    companions: { Drama: 4, History: 3, Action: 2, Documentary: 0.5 },
    runtime: [135, 18],
    ratings: [0, 5, 35, 60, 0],
    noun: "war film",
    adjective: "wartime",
    tones: ["harrowing", "searing", "epic", "grim", "unsentimental"],
    heroes: ["a young radio operator", "a field medic", "a conscripted farmer", "a cipher clerk"],
    places: ["the Varn front", "an occupied port city", "a frozen river crossing", "the coast of Saint Odile"],
    hooks: [
      "is cut off behind enemy lines with a wounded officer",
      "intercepts an order that will doom an entire battalion",
      "is ordered to hold a bridge for one more night",
    ],
    goals: [
      "get {pp} unit home alive",
      "deliver the message before the dawn offensive",
      "decide what duty means when the orders are wrong",
    ],
    titleNouns: ["Front", "Trench", "Battalion", "Ridge", "Crossing", "Winter", "Garrison", "Flare"],
    titleAdjectives: ["Last", "Iron", "Long", "Bitter", "Frozen", "Burning"],
    palettes: [
      { sky: ["#283618", "#606c38"], accent: "#fefae0", accent2: "#bc6c25", ink: "#fefae0" },
      { sky: ["#3d405b", "#81726a"], accent: "#f4f1de", accent2: "#e07a5f", ink: "#f4f1de" },
    ],
    poster: "burst",
  },
  History: {
    weight: 1.2,
    companions: { Drama: 4, War: 2, Documentary: 1.5, Romance: 1, Adventure: 0.6 },
    runtime: [130, 18],
    ratings: [1, 10, 50, 39, 0],
    noun: "period drama",
    adjective: "historical",
    tones: ["sumptuous", "meticulous", "stirring", "grand", "richly detailed"],
    heroes: ["a court translator", "a mapmaker's widow", "a self-taught astronomer", "a printer's apprentice"],
    places: ["eighteenth-century Vienna", "a Baltic trading port", "the court of a dying king", "1920s Alexandria"],
    hooks: [
      "uncovers a forged treaty that could start a war",
      "becomes the unlikely confidant of an aging empress",
      "smuggles banned books across the border",
    ],
    goals: [
      "change the course of history without losing {pp} head",
      "protect the truth for the generations that follow",
      "win a place in a world that refuses {po}",
    ],
    titleNouns: ["Accord", "Empress", "Chronicle", "Regent", "Dynasty", "Archive", "Charter", "Court"],
    titleAdjectives: ["Last", "Winter", "Gilded", "Forgotten", "First", "Lost"],
    palettes: [
      { sky: ["#582f0e", "#7f4f24"], accent: "#ede0d4", accent2: "#b6ad90", ink: "#fffaf0" },
      { sky: ["#3c1518", "#69140e"], accent: "#f2f3ae", accent2: "#d58936", ink: "#fff8e7" },
    ],
    poster: "bands",
  },
  Western: {
    weight: 0.8,
    companions: { Drama: 3, Action: 2, Adventure: 1.5, Comedy: 0.6, Romance: 0.5 },
    runtime: [115, 15],
    ratings: [5, 15, 35, 45, 0],
    noun: "western",
    adjective: "frontier",
    tones: ["dusty", "sun-scorched", "elegiac", "lean", "gunsmoke-filled"],
    heroes: ["a weary bounty hunter", "a widowed homesteader", "a stagecoach driver", "a reformed outlaw"],
    places: ["Bitter Creek", "a railroad town in the territory", "the Sangre Flats", "a border mission"],
    hooks: [
      "is hired to escort a prisoner across three hundred miles of desert",
      "refuses to sell {pp} land to the railroad",
      "rides into a town that has hanged its sheriff",
    ],
    goals: [
      "settle an old debt before the snow comes",
      "hold the homestead until the federal marshal arrives",
      "face the gang that burned {pp} ranch",
    ],
    titleNouns: ["Canyon", "Spur", "Mesa", "Rider", "Saddle", "Creek", "Gallows", "Drifter", "Stagecoach"],
    titleAdjectives: ["Dusty", "Lonesome", "High", "Red", "Dry", "Broken"],
    palettes: [
      { sky: ["#f77f00", "#fcbf49"], accent: "#d62828", accent2: "#6b2d0b", ink: "#2b1406" },
      { sky: ["#e76f51", "#f4a261"], accent: "#264653", accent2: "#8b4513", ink: "#2b1406" },
    ],
    poster: "landscape",
  },
};

/** The weights of `GENRES`, in order, for drawing a primary genre. */
export const PRIMARY_GENRE_WEIGHTS: readonly number[] = GENRES.map((g) => GENRE_PROFILES[g].weight);

/** Genres as a slug for row ids and poster ids: "Sci-Fi" → "sci-fi". */
export function genreSlug(genre: string): string {
  return genre.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

export function isGenre(name: string): name is Genre {
  return GENRE_INDEX.has(name);
}
